package io.l4mesh.node.packet;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Health probes through the tunnel: the health checker connects from this node to the VIP's service with a source
 * port from {@link #BASE_PORT}; the VIP's route takes the SYN into the node's own TUN, and the packet thread sends it
 * to the backend that owns that port's slot (whatever Maglev says), encapsulated like client traffic. The backend
 * answers the node directly, so the node's own TCP stack completes (or times out) the probe.
 *
 * <p>The probes reach the TUN through the listener's routing rule, not through the VIP's route: that one is what the
 * node announces, and it is withdrawn while the node is unhealthy (the announcer removes it), so probes that needed
 * it could never see a backend come back. {@link PacketListener} adds, for each VIP, the rule
 * {@code to VIP lookup 61000} (priority {@value #RULE_PRIORITY}) and the route {@code VIP dev TUN table 61000}; BIRD
 * learns the main table only, so this route is never announced.
 *
 * <p>Only packets whose source is one of this host's addresses are steered, so a client cannot pick a backend by
 * choosing a source port in the range.
 *
 * <p>Threading: slots change under this object's lock (health checker); packet threads read a volatile array.
 */
public final class ProbeSteering {
    public static final int BASE_PORT = 61_000;
    public static final int SLOTS = 1024;
    /** The routing table that holds the VIPs' routes into the TUN devices (the rule's, never announced). */
    public static final int ROUTE_TABLE = 61_000;
    /** The priority of the VIPs' rules (before the main table's 32766). */
    public static final int RULE_PRIORITY = 1000;
    private static final long PRESENT = 1L << 32;

    /** Per slot: {@code PRESENT | flowId}, or 0. */
    private volatile long[] slots = new long[SLOTS];
    /** This host's addresses as key words (hi, lo pairs). */
    private final long[] local;

    public ProbeSteering() {
        List<Long> words = new ArrayList<>();
        try {
            for (NetworkInterface nif : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                for (InetAddress a : Collections.list(nif.getInetAddresses())) {
                    byte[] b = a.getAddress();
                    if (a instanceof Inet6Address && a.isLinkLocalAddress()) {
                        continue;
                    }
                    words.add(io.l4mesh.node.flow.FlowTable.keyHi(b));
                    words.add(io.l4mesh.node.flow.FlowTable.keyLo(b));
                }
            }
        } catch (SocketException e) {
            // no interfaces listed: nothing is steered, tunnel probes fail and say so
        }
        local = new long[words.size()];
        for (int i = 0; i < local.length; i++) {
            local[i] = words.get(i);
        }
    }

    /** The slot (source port {@code BASE_PORT + slot}) for a backend, assigned on first use. */
    public synchronized int slot(int flowId) {
        long[] s = slots;
        int free = -1;
        for (int i = 0; i < SLOTS; i++) {
            if (s[i] == (PRESENT | (flowId & 0xFFFFFFFFL))) {
                return i;
            }
            if (free < 0 && s[i] == 0) {
                free = i;
            }
        }
        if (free < 0) {
            return -1;
        }
        long[] next = s.clone();
        next[free] = PRESENT | (flowId & 0xFFFFFFFFL);
        slots = next;
        return free;
    }

    /** Frees a backend's slot. */
    public synchronized void release(int flowId) {
        long[] next = slots.clone();
        for (int i = 0; i < SLOTS; i++) {
            if (next[i] == (PRESENT | (flowId & 0xFFFFFFFFL))) {
                next[i] = 0;
            }
        }
        slots = next;
    }

    /**
     * The backend (flow id) a packet from {@code srcHi:srcLo} port {@code srcPort} is a probe for, or -1 (not a probe).
     * No allocation: the packet path calls it per packet.
     */
    public long probeFor(long srcHi, long srcLo, int srcPort) {
        int slot = srcPort - BASE_PORT;
        if (slot < 0 || slot >= SLOTS) {
            return -1;
        }
        long v = slots[slot];
        if (v == 0) {
            return -1;
        }
        for (int i = 0; i < local.length; i += 2) {
            if (local[i] == srcHi && local[i + 1] == srcLo) {
                return v & 0xFFFFFFFFL;
            }
        }
        return -1;
    }
}
