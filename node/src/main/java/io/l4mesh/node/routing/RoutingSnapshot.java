package io.l4mesh.node.routing;

import io.l4mesh.hashring.Backend;
import io.l4mesh.hashring.FlowHash;
import io.l4mesh.hashring.HashAlgorithm;
import io.l4mesh.hashring.MaglevTable;
import io.l4mesh.node.config.Algorithm;
import java.util.ArrayList;
import java.util.List;

/**
 * An immutable view of one pool for the data path: its backends (sorted by id), a Maglev table over them in
 * which every backend that may not take new flows has weight 0, and a smooth weighted round-robin sequence.
 *
 * <p>Because the Maglev table sorts backends by id exactly like this snapshot does, a table index is a
 * backend index here. A backend of weight 0 takes no slot and moves no other backend's slots, so draining or
 * losing a backend disturbs only that backend's flows.
 *
 * <p>Threading: immutable; built on the control thread, read by every event loop.
 */
public final class RoutingSnapshot {
    /** Maglev fallback probes before a linear scan: "next backend in hash order" for retries. */
    static final int MAX_FALLBACK_PROBES = 16;
    /** Round-robin sequences longer than this are scaled down (weights keep their ratio). */
    static final int MAX_ROUND_ROBIN_LENGTH = 10_000;

    private final long version;
    private final BackendRuntime[] backends;
    private final MaglevTable table;
    private final int[] roundRobin;
    private final int eligibleCount;
    /** Open addressing: flow id -> backend index + 1 (0: empty), for the packet path's flow-table hits. */
    private final int[] flowIdKeys;
    private final int[] flowIdValues;
    private final int flowIdCollisions;

    RoutingSnapshot(long version, List<BackendRuntime> sortedBackends, int tableSize, HashAlgorithm algorithm) {
        this.version = version;
        this.backends = sortedBackends.toArray(new BackendRuntime[0]);
        List<Backend> ring = new ArrayList<>(backends.length);
        int eligible = 0;
        for (BackendRuntime b : backends) {
            boolean ok = b.eligible();
            eligible += ok ? 1 : 0;
            ring.add(new Backend(b.id(), ok ? b.weight() : 0));
        }
        this.eligibleCount = eligible;
        this.table = MaglevTable.build(ring, tableSize, algorithm);
        this.roundRobin = smoothWeightedRoundRobin(backends);
        int cap = Integer.highestOneBit(Math.max(4, backends.length * 4));
        this.flowIdKeys = new int[cap];
        this.flowIdValues = new int[cap];
        int collisions = 0;
        for (int i = 0; i < backends.length; i++) {
            int id = backends[i].flowId();
            int slot = mix(id) & (cap - 1);
            while (flowIdValues[slot] != 0 && flowIdKeys[slot] != id) {
                slot = (slot + 1) & (cap - 1);
            }
            if (flowIdValues[slot] != 0) {
                collisions++;     // the first backend keeps the id; flows recorded for it cannot tell them apart
                continue;
            }
            flowIdKeys[slot] = id;
            flowIdValues[slot] = i + 1;
        }
        this.flowIdCollisions = collisions;
    }

    private static int mix(int x) {
        x *= 0x9E3779B1;
        return x ^ x >>> 16;
    }

    /** The index of the backend with this flow id, or -1 (removed, or never in this pool). No allocation. */
    public int indexOfFlowId(int flowId) {
        int mask = flowIdKeys.length - 1;
        int slot = mix(flowId) & mask;
        while (flowIdValues[slot] != 0) {
            if (flowIdKeys[slot] == flowId) {
                return flowIdValues[slot] - 1;
            }
            slot = (slot + 1) & mask;
        }
        return -1;
    }

    /** Backends whose flow id another backend of this pool already has (32-bit ids: about 1 in 10^4 at 1000). */
    public int flowIdCollisions() {
        return flowIdCollisions;
    }

    /** nginx's smooth weighted round robin, unrolled into one period. */
    static int[] smoothWeightedRoundRobin(BackendRuntime[] backends) {
        long total = 0;
        for (BackendRuntime b : backends) {
            total += b.eligible() ? b.weight() : 0;
        }
        if (total == 0) {
            return new int[0];
        }
        int[] weights = new int[backends.length];
        long scaledTotal = 0;
        for (int i = 0; i < backends.length; i++) {
            int w = backends[i].eligible() ? backends[i].weight() : 0;
            if (w > 0 && total > MAX_ROUND_ROBIN_LENGTH) {
                w = (int) Math.max(1, w * MAX_ROUND_ROBIN_LENGTH / total);
            }
            weights[i] = w;
            scaledTotal += w;
        }
        int[] sequence = new int[(int) scaledTotal];
        long[] current = new long[backends.length];
        for (int s = 0; s < sequence.length; s++) {
            int best = -1;
            for (int i = 0; i < weights.length; i++) {
                current[i] += weights[i];
                if (weights[i] > 0 && (best < 0 || current[i] > current[best])) {
                    best = i;
                }
            }
            current[best] -= scaledTotal;
            sequence[s] = best;
        }
        return sequence;
    }

    public long version() {
        return version;
    }

    public MaglevTable table() {
        return table;
    }

    public List<BackendRuntime> backends() {
        return List.of(backends);
    }

    /** The backend at a Maglev table index (no allocation: the packet path calls this per packet). */
    public BackendRuntime backendAt(int index) {
        return backends[index];
    }

    /** The backend with this id, or null. */
    public BackendRuntime backend(String id) {
        for (BackendRuntime b : backends) {
            if (b.id().equals(id)) {
                return b;
            }
        }
        return null;
    }

    /** Backends that take new flows. */
    public int eligibleCount() {
        return eligibleCount;
    }

    /**
     * Chooses a backend for a new flow.
     *
     * @param flowHash   the 5-tuple hash (maglev)
     * @param sourceHash the source address hash (source-ip)
     * @param ticket     the pool's round-robin ticket for this flow
     * @param tried      backends already tried for this flow (first {@code triedCount} entries), never chosen
     * @param maxPerBackend backends at this many open flows are passed over (0: no limit)
     * @return the backend, with a flow slot already reserved on it, or null when none can take the flow
     */
    public BackendRuntime choose(Algorithm algorithm, long flowHash, long sourceHash, long ticket,
                                 BackendRuntime[] tried, int triedCount, int maxPerBackend) {
        if (eligibleCount == 0) {
            return null;
        }
        return switch (algorithm) {
            case MAGLEV -> byHash(flowHash, tried, triedCount, maxPerBackend);
            case SOURCE_IP -> byHash(sourceHash, tried, triedCount, maxPerBackend);
            case ROUND_ROBIN -> byRoundRobin(ticket, tried, triedCount, maxPerBackend);
            case LEAST_CONNECTIONS -> byLeastConnections(flowHash, tried, triedCount, maxPerBackend);
        };
    }

    private BackendRuntime byHash(long hash, BackendRuntime[] tried, int triedCount, int max) {
        for (int attempt = 0; attempt < MAX_FALLBACK_PROBES; attempt++) {
            int idx = table.lookup(FlowHash.fallback(hash, attempt));
            BackendRuntime b = backends[idx];
            if (!contains(tried, triedCount, b) && b.eligible() && b.locallyUp() && b.tryAcquire(max)) {
                return b;
            }
        }
        return scan((int) Long.remainderUnsigned(hash, backends.length), tried, triedCount, max);
    }

    private BackendRuntime byRoundRobin(long ticket, BackendRuntime[] tried, int triedCount, int max) {
        int n = roundRobin.length;
        int start = (int) Long.remainderUnsigned(ticket, n);
        for (int k = 0; k < n; k++) {
            BackendRuntime b = backends[roundRobin[(start + k) % n]];
            if (!contains(tried, triedCount, b) && b.eligible() && b.locallyUp() && b.tryAcquire(max)) {
                return b;
            }
        }
        return null;
    }

    private BackendRuntime byLeastConnections(long hash, BackendRuntime[] tried, int triedCount, int max) {
        int n = backends.length;
        int start = (int) Long.remainderUnsigned(hash, n);
        for (int round = 0; round < 4; round++) {
            BackendRuntime best = null;
            long bestActive = 0;
            for (int k = 0; k < n; k++) {
                BackendRuntime b = backends[(start + k) % n];
                if (!b.eligible() || !b.locallyUp() || contains(tried, triedCount, b)) {
                    continue;
                }
                long a = b.activeFlows();
                // a / w < bestActive / bestWeight, without division
                if (best == null || a * best.weight() < bestActive * b.weight()) {
                    best = b;
                    bestActive = a;
                }
            }
            if (best == null) {
                return null;
            }
            if (best.tryAcquire(max)) {
                return best;
            }
        }
        return null;
    }

    private BackendRuntime scan(int start, BackendRuntime[] tried, int triedCount, int max) {
        int n = backends.length;
        for (int k = 0; k < n; k++) {
            BackendRuntime b = backends[(start + k) % n];
            if (b.eligible() && b.locallyUp() && !contains(tried, triedCount, b) && b.tryAcquire(max)) {
                return b;
            }
        }
        return null;
    }

    private static boolean contains(BackendRuntime[] tried, int count, BackendRuntime b) {
        for (int i = 0; i < count; i++) {
            if (tried[i] == b) {
                return true;
            }
        }
        return false;
    }

    /** Where a flow would go now, without reserving anything; null when the pool has no eligible backend. */
    public BackendRuntime peek(Algorithm algorithm, long flowHash, long sourceHash, long ticket) {
        if (eligibleCount == 0) {
            return null;
        }
        return switch (algorithm) {
            case MAGLEV -> backends[table.lookup(flowHash)];
            case SOURCE_IP -> backends[table.lookup(sourceHash)];
            case ROUND_ROBIN -> backends[roundRobin[(int) Long.remainderUnsigned(ticket, roundRobin.length)]];
            case LEAST_CONNECTIONS -> {
                BackendRuntime b = byLeastConnections(flowHash, new BackendRuntime[0], 0, 0);
                if (b != null) {
                    b.release();
                }
                yield b;
            }
        };
    }
}
