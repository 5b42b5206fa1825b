package io.l4mesh.node.proxy;

import io.l4mesh.node.config.ListenerConfig;
import io.l4mesh.node.log.ErrorLog;
import io.l4mesh.node.routing.PoolRuntime;
import java.time.Duration;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * A listener's settings and counters, shared by its event loops.
 *
 * <p>Threading: {@code config} and {@code pool} are replaced by the control thread on reload (volatile); the
 * counters are atomics.
 */
public final class ListenerRuntime {
    private volatile ListenerConfig config;
    private volatile PoolRuntime pool;
    private final Executor control;
    private final ErrorLog errors;

    final AtomicInteger active = new AtomicInteger();
    final LongAdder accepted = new LongAdder();
    final LongAdder rejectedLimit = new LongAdder();
    final LongAdder rejectedNoBackend = new LongAdder();
    final LongAdder rejectedConnectFailed = new LongAdder();
    /** Connections a backend took only after the first one tried failed to connect. */
    final LongAdder retried = new LongAdder();
    final LongAdder idleTimeouts = new LongAdder();
    /** Connections ended by a reset (or an error) from the client's side, and from the backend's. */
    final LongAdder resetsFromClient = new LongAdder();
    final LongAdder resetsFromBackend = new LongAdder();
    final LongAdder bytesIn = new LongAdder();
    final LongAdder bytesOut = new LongAdder();
    final LongAdder datagramsIn = new LongAdder();
    final LongAdder datagramsOut = new LongAdder();

    public ListenerRuntime(ListenerConfig config, PoolRuntime pool, Executor control, ErrorLog errors) {
        this.config = config;
        this.pool = pool;
        this.control = control;
        this.errors = errors;
    }

    /** Where unexpected data-path errors are counted and logged once per kind. */
    public ErrorLog errors() {
        return errors;
    }

    public ListenerConfig config() {
        return config;
    }

    public PoolRuntime pool() {
        return pool;
    }

    /** Reload: new settings and pool for flows that start from now on. */
    public void update(ListenerConfig config, PoolRuntime pool) {
        this.config = config;
        this.pool = pool;
    }

    /** The control thread, for reporting passive health failures. */
    public Executor control() {
        return control;
    }

    /** Idle timeout for this listener's flows: its own, else the pool's (TCP) or the UDP default. */
    public Duration idleTimeout() {
        ListenerConfig c = config;
        if (c.idleTimeout() != null) {
            return c.idleTimeout();
        }
        return c.protocol() == io.l4mesh.node.config.Protocol.UDP
            ? ListenerConfig.DEFAULT_UDP_IDLE_TIMEOUT : pool.settings().idleTimeout();
    }

    /** Reserves a connection (or session) slot under {@code maxConnections}. */
    boolean tryAcquire() {
        int max = config.maxConnections();
        while (true) {
            int n = active.get();
            if (n >= max) {
                rejectedLimit.increment();
                return false;
            }
            if (active.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    void release() {
        active.decrementAndGet();
    }

    public String name() {
        return config.name();
    }

    public int activeFlows() {
        return active.get();
    }

    public long acceptedTotal() {
        return accepted.sum();
    }

    public long rejectedLimitTotal() {
        return rejectedLimit.sum();
    }

    public long rejectedNoBackendTotal() {
        return rejectedNoBackend.sum();
    }

    public long rejectedConnectFailedTotal() {
        return rejectedConnectFailed.sum();
    }

    public long retriedTotal() {
        return retried.sum();
    }

    public long idleTimeoutsTotal() {
        return idleTimeouts.sum();
    }

    public long resetsFromClientTotal() {
        return resetsFromClient.sum();
    }

    public long resetsFromBackendTotal() {
        return resetsFromBackend.sum();
    }

    public long resetsTotal() {
        return resetsFromClient.sum() + resetsFromBackend.sum();
    }

    public long bytesInTotal() {
        return bytesIn.sum();
    }

    public long bytesOutTotal() {
        return bytesOut.sum();
    }

    public long datagramsInTotal() {
        return datagramsIn.sum();
    }

    public long datagramsOutTotal() {
        return datagramsOut.sum();
    }

    /**
     * Flow tables that remember this listener's flows on this node (proxy-mode UDP shards; packet threads), and the
     * flow-sync replica apart (what the peers placed), for "where does this flow go" answers.
     */
    private final java.util.List<io.l4mesh.node.flow.FlowTable> flowTables =
        new java.util.concurrent.CopyOnWriteArrayList<>();
    private volatile io.l4mesh.node.flow.FlowTable replica;

    /** The flow-sync replica of a packet listener, or null to drop it. */
    public void replica(io.l4mesh.node.flow.FlowTable t) {
        replica = t;
    }

    /** Whether the replica knows this flow (fills {@code out} like {@code FlowTable.read}). Any thread. */
    public boolean replicaFlow(long srcHi, long srcLo, int ports, long[] out) {
        io.l4mesh.node.flow.FlowTable t = replica;
        try {
            return t != null && t.read(srcHi, srcLo, ports, io.l4mesh.node.flow.FlowClock.seconds(), out);
        } catch (IllegalStateException closed) {
            return false;
        }
    }

    public void addFlowTable(io.l4mesh.node.flow.FlowTable t) {
        flowTables.add(t);
    }

    public void removeFlowTable(io.l4mesh.node.flow.FlowTable t) {
        flowTables.remove(t);
    }

    /** Whether a shard remembers this flow's backend (fills {@code out} like {@code FlowTable.read}). Any thread. */
    public boolean recordedFlow(long srcHi, long srcLo, int ports, long[] out) {
        int now = io.l4mesh.node.flow.FlowClock.seconds();
        for (io.l4mesh.node.flow.FlowTable t : flowTables) {
            try {
                if (t.read(srcHi, srcLo, ports, now, out)) {
                    return true;
                }
            } catch (IllegalStateException closed) {
                // the shard closed meanwhile: it remembers nothing any more
            }
        }
        return false;
    }
}
