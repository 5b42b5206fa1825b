package io.l4mesh.node.packet;

import io.l4mesh.hashring.MaglevTable;
import io.l4mesh.node.routing.PoolRuntime;
import io.l4mesh.node.routing.RoutingSnapshot;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * One packet thread of a VIP in packet mode (DSR): reads the client's IP packets from a TUN queue, picks the
 * backend by Maglev over the pool's routing snapshot, and sends the packet to it encapsulated (GUE or VXLAN). The node never
 * sees the replies: backends answer the client directly.
 *
 * <p>No object is made per packet: the TUN read lands at the encapsulation's overhead in a buffer allocated
 * once, the headers go in front of it, and the raw socket sends the whole.
 *
 * <p>Packets whose encapsulation would exceed {@code mtu} are dropped and counted (the fabric between nodes and
 * backends needs an MTU 28 (GUE) or 50 (VXLAN) bytes above the clients'); for an IPv4 packet with don't-fragment
 * set the client gets an ICMP "fragmentation needed" naming {@code mtu} less the overhead (at most one per
 * millisecond per thread), so path MTU
 * discovery shrinks its packets. IPv4 and IPv6 fragments are dropped and counted, like Katran. ICMP errors about a
 * flow go to that flow's backend.
 *
 * <p>Threading: {@link #run} on one thread; {@link #stop} from any.
 */
public final class PacketForwarder implements Runnable {
    private final Tun tun;
    private final RawIpv4Socket raw;
    private final java.util.function.Supplier<PoolRuntime> pool;
    private final int vipPort;
    private final int protocol;
    private final Encapsulator encap;
    private final PacketCounters counters;
    private final int mtu;
    private final long seed;
    private volatile boolean running = true;
    /** Packet thread only: a buffer for ICMP errors and when the last one went. */
    private MemorySegment icmp;
    private long lastIcmpNanos;

    /**
     * @param pool     the VIP's pool (read per packet: a reload may swap it)
     * @param vipPort  the service port; packets to other ports are dropped and counted (0: every port)
     * @param protocol the service's IP protocol (6 or 17); ICMP errors about its flows pass too
     */
    public PacketForwarder(Tun tun, RawIpv4Socket raw, java.util.function.Supplier<PoolRuntime> pool, int vipPort,
                           int protocol, Encapsulator encap, PacketCounters counters, int mtu) {
        this.tun = tun;
        this.raw = raw;
        this.pool = pool;
        this.vipPort = vipPort;
        this.protocol = protocol;
        this.encap = encap;
        this.counters = counters;
        this.mtu = mtu;
        this.seed = pool.get().snapshot().table().algorithm().flowSeed();
    }

    @Override
    public void run() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(encap.overhead() + Tun.MAX_PACKET);
            MemorySegment inner = buf.asSlice(encap.overhead(), Tun.MAX_PACKET);
            PacketParser parser = new PacketParser();
            icmp = arena.allocate(IcmpWriter.MAX_LENGTH);
            while (running) {
                int n;
                try {
                    n = tun.read(inner, 100);
                } catch (IOException e) {
                    if (running) {
                        counters.sendErrors.increment();
                    }
                    continue;
                }
                if (n > 0) {
                    forward(buf, inner, n, parser);
                }
            }
        }
    }

    private void forward(MemorySegment buf, MemorySegment inner, int n, PacketParser parser) {
        counters.received.increment();
        switch (parser.parse(inner, n)) {
            case OK -> { }
            case ICMP_ERROR -> counters.icmpErrors.increment();
            case IP_OPTIONS -> counters.ipOptions.increment();
            case FRAGMENT -> {
                counters.fragments.increment();
                return;
            }
            case UNSUPPORTED -> {
                counters.unsupported.increment();
                return;
            }
            default -> {
                counters.malformed.increment();
                return;
            }
        }
        if (parser.protocol() != protocol || vipPort != 0 && parser.dstPort() != vipPort) {
            counters.unsupported.increment();   // not this VIP's service
            return;
        }
        if (n + encap.overhead() > mtu) {
            counters.tooBig.increment();
            tooBig(inner, parser);
            return;
        }
        long hash = parser.flowHash(seed);
        RoutingSnapshot s = pool.get().snapshot();
        int idx = s.table().lookup(hash);
        if (idx == MaglevTable.NO_BACKEND) {
            counters.noBackend.increment();
            return;
        }
        int dst = s.backendAt(idx).ipv4();
        if (dst == 0) {
            counters.unsupported.increment();   // IPv6 outer headers: not yet
            return;
        }
        int total = encap.encapsulate(buf, n, dst, hash);
        try {
            raw.send(buf, total, dst);
            counters.forwarded.increment();
            counters.bytesForwarded.add(n);
        } catch (IOException e) {
            counters.sendErrors.increment();
        }
    }

    private void tooBig(MemorySegment inner, PacketParser parser) {
        long now = System.nanoTime();
        if (parser.version() != 4 || !IcmpWriter.dontFragment(inner) || now - lastIcmpNanos < 1_000_000) {
            return;
        }
        lastIcmpNanos = now;
        int len = IcmpWriter.fragmentationNeeded(icmp, inner, mtu - encap.overhead());
        try {
            raw.send(icmp, len, IcmpWriter.source(inner));
            counters.icmpSent.increment();
        } catch (IOException e) {
            counters.sendErrors.increment();
        }
    }

    public void stop() {
        running = false;
    }
}
