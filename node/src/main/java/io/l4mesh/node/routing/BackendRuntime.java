package io.l4mesh.node.routing;

import io.l4mesh.node.config.HostPort;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * A backend of a pool at run time: its identity, its current settings and health, and its counters.
 *
 * <p>Health has two layers. {@code localHealth} is what this node's probes and connects say (with rise/fall and flap
 * damping); {@code health} is what the pool uses for new flows: in a mesh, the rule over every node's observations
 * (so all nodes build the same table); alone, the local health. A backend up in the mesh but down here stays in the
 * table, and this node sends its new flows to the next backend in hash order instead.
 *
 * <p>Threading: {@code weight}, {@code draining}, {@code removed} and both healths are written only by the
 * control thread (volatile so that status reads see them); the hysteresis counters are the control thread's
 * alone. Counters are atomics the event loops update.
 */
public final class BackendRuntime {
    private final String id;
    private final HostPort address;
    private final InetSocketAddress socketAddress;
    /** The IPv4 address as a big-endian int for the packet path, or 0 for IPv6 backends. */
    private final int ipv4;
    private final int flowId;
    /** The address's halves when it is IPv6 (an IPv6 backend has {@link #ipv4()} 0). */
    private final boolean ipv6;
    private final long ipv6Hi;
    private final long ipv6Lo;

    private volatile int weight;
    private volatile boolean draining;
    private volatile boolean removed;
    private volatile Health health = Health.UP;
    private volatile String healthReason = "initial";
    private volatile Health localHealth = Health.UP;
    private volatile String localReason = "initial";
    /** Where each kind of latency goes (a histogram once metrics are bound; nothing before), by ordinal. */
    private final java.util.concurrent.atomic.AtomicReferenceArray<java.util.function.LongConsumer> latencies =
        new java.util.concurrent.atomic.AtomicReferenceArray<>(Latency.values().length);
    /** Control thread only. */
    final FlapDamper damper = new FlapDamper();

    /** Control thread only: consecutive probe results. */
    int probeSuccesses;
    int probeFailures;

    final AtomicInteger active = new AtomicInteger();
    final AtomicInteger consecutiveConnectFailures = new AtomicInteger();
    final LongAdder flows = new LongAdder();
    /** Packet mode: entries of this node's flow tables that name this backend (packet threads add and subtract). */
    final LongAdder packetFlows = new LongAdder();
    final LongAdder connectFailures = new LongAdder();
    final LongAdder probesOk = new LongAdder();
    final LongAdder probesFailed = new LongAdder();
    final LongAdder transitionsUp = new LongAdder();
    final LongAdder transitionsDown = new LongAdder();

    BackendRuntime(String id, HostPort address, InetSocketAddress socketAddress, int weight, boolean draining) {
        this.id = id;
        this.address = address;
        this.socketAddress = socketAddress;
        byte[] a = socketAddress.getAddress() == null ? new byte[0] : socketAddress.getAddress().getAddress();
        this.ipv4 = a.length == 4 ? (a[0] & 0xFF) << 24 | (a[1] & 0xFF) << 16 | (a[2] & 0xFF) << 8 | (a[3] & 0xFF) : 0;
        this.weight = weight;
        this.draining = draining;
        this.flowId = flowId(id);
        this.ipv6 = a.length == 16;
        java.nio.ByteBuffer words = java.nio.ByteBuffer.wrap(a.length == 16 ? a : new byte[16]);
        this.ipv6Hi = words.getLong(0);
        this.ipv6Lo = words.getLong(8);
    }

    /** Whether the backend's address is IPv6. */
    public boolean isIpv6() {
        return ipv6;
    }

    public long ipv6Hi() {
        return ipv6Hi;
    }

    public long ipv6Lo() {
        return ipv6Lo;
    }

    /** Seed of {@link #flowId}: part of the flow-sync wire format, never change it. */
    static final long FLOW_ID_SEED = 0x6C346D6573686669L;

    /**
     * A backend's name in flow tables and flow-sync messages: 32 bits of XXH64 of its id, the same on every node.
     * Two backends of one pool with the same flow id are reported when the pool's snapshot is built.
     */
    public static int flowId(String id) {
        return (int) io.l4mesh.hashring.XxHash64.hash(id, FLOW_ID_SEED);
    }

    public String id() {
        return id;
    }

    /** {@link #flowId(String)} of this backend's id. */
    public int flowId() {
        return flowId;
    }

    public HostPort address() {
        return address;
    }

    /** The resolved address connects go to. */
    public InetSocketAddress socketAddress() {
        return socketAddress;
    }

    /** IPv4 address as a big-endian int (computed once, for the packet path), or 0 when the backend is IPv6. */
    public int ipv4() {
        return ipv4;
    }

    public int weight() {
        return weight;
    }

    void weight(int weight) {
        this.weight = weight;
    }

    public boolean draining() {
        return draining;
    }

    void draining(boolean draining) {
        this.draining = draining;
    }

    public boolean removed() {
        return removed;
    }

    void markRemoved() {
        this.removed = true;
    }

    public Health health() {
        return health;
    }

    public String healthReason() {
        return healthReason;
    }

    void health(Health health, String reason) {
        this.health = health;
        this.healthReason = reason;
    }

    /** Health as this node's own probes and connects see it. */
    public Health localHealth() {
        return localHealth;
    }

    public String localReason() {
        return localReason;
    }

    void localHealth(Health health, String reason) {
        this.localHealth = health;
        this.localReason = reason;
    }

    /** This node can reach it (its own probes say so); new flows skip it here otherwise. */
    public boolean locallyUp() {
        return localHealth == Health.UP;
    }

    /** Takes new flows: present, up, not draining, weight above zero. */
    public boolean eligible() {
        return !removed && !draining && health == Health.UP && weight > 0;
    }

    /** Whether a flow already on this backend may stay (draining keeps its flows; removal and down do not). */
    public boolean keepsFlows() {
        return !removed && health == Health.UP;
    }

    /** Reserves a flow slot unless the backend is at {@code max} (0: unlimited). */
    public boolean tryAcquire(int max) {
        if (max <= 0) {
            active.incrementAndGet();
            return true;
        }
        while (true) {
            int n = active.get();
            if (n >= max) {
                return false;
            }
            if (active.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    /** Returns a slot taken by {@link #tryAcquire}. */
    public void release() {
        active.decrementAndGet();
    }

    /** A flow was placed here. */
    public void recordFlow() {
        flows.increment();
    }

    /**
     * A connect to this backend failed.
     *
     * @return the number of consecutive failures, for passive health marking
     */
    public int recordConnectFailure() {
        connectFailures.increment();
        return consecutiveConnectFailures.incrementAndGet();
    }

    /** The latencies measured for a backend. */
    public enum Latency {
        /** Proxy mode: connect start to the backend's accept. */
        CONNECT,
        /** Proxy mode: the client's connection accepted to the backend's first byte toward it. */
        FIRST_BYTE,
        /** A successful active health probe, from its start to its verdict (connect, or the expected answer). */
        PROBE
    }

    /** Sends this backend's {@code kind} latencies (nanoseconds) to {@code sink}, or nowhere when null. Any thread. */
    public void latencies(Latency kind, java.util.function.LongConsumer sink) {
        latencies.set(kind.ordinal(), sink);
    }

    /** A latency of this backend: to its histogram, when one is bound. Any thread. */
    public void record(Latency kind, long nanos) {
        java.util.function.LongConsumer sink = latencies.get(kind.ordinal());
        if (sink != null) {
            sink.accept(nanos);
        }
    }

    /** A connect succeeded after {@code nanos}: recorded, and the passive failure streak ends. */
    public void recordConnectSuccess(long nanos) {
        record(Latency.CONNECT, nanos);
        recordConnectSuccess();
    }

    /** A connect succeeded: the passive failure streak ends. */
    public void recordConnectSuccess() {
        if (consecutiveConnectFailures.get() != 0) {
            consecutiveConnectFailures.set(0);
        }
    }

    public int activeFlows() {
        return active.get();
    }

    /** Packet mode: a flow naming this backend entered ({@code +1}) or left ({@code -1}) a flow table. */
    public void packetFlows(int delta) {
        packetFlows.add(delta);
    }

    /**
     * The flows this backend carries now through this node, both planes: open proxy connections and UDP sessions,
     * and packet-mode flow-table entries. (The packet part may undercount after the backend was removed and added
     * back while old entries naming it expire; it never reads below 0.)
     */
    public long flowsNow() {
        return active.get() + Math.max(0, packetFlows.sum());
    }

    public long totalFlows() {
        return flows.sum();
    }

    public long totalConnectFailures() {
        return connectFailures.sum();
    }

    public long probesOkTotal() {
        return probesOk.sum();
    }

    public long probesFailedTotal() {
        return probesFailed.sum();
    }

    public long transitionsUpTotal() {
        return transitionsUp.sum();
    }

    public long transitionsDownTotal() {
        return transitionsDown.sum();
    }

    @Override
    public String toString() {
        return id;
    }
}
