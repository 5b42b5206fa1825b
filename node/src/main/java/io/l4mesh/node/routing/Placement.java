package io.l4mesh.node.routing;

import io.l4mesh.hashring.MaglevTable;

/**
 * Where packet mode sends a flow, as one function of what is known about it. The packet path
 * ({@code PacketForwarder}) acts on its answer (records, adopts, counts), {@code /lookup} reports it, proxy-mode UDP
 * sessions keep their recorded backend by rules 1 and 2 ({@link #kept}), and {@code PlacementTest} checks each rule
 * without a TUN device. The rules, in order:
 * <ol>
 *   <li>recorded in this node's flow table, and its backend is still in the pool and takes flows (up, or draining):
 *       {@link #KEPT}, even after a pool change moved the flow's Maglev slot;</li>
 *   <li>recorded here, but its backend was removed ({@link #REHASHED_REMOVED}) or is down ({@link #REHASHED_DOWN}):
 *       Maglev over the current pool decides again;</li>
 *   <li>not recorded here but in the replica (a peer placed it and ECMP moved it here): {@link #ADOPTED}, under the
 *       same test of its backend, else rehashed as in rule 2;</li>
 *   <li>known nowhere: {@link #NEW}, Maglev over the current pool (a TCP segment without SYN too: the caller counts
 *       it as a non-SYN miss).</li>
 * </ol>
 * Which record speaks for the flow comes first ({@link #speaker}): a record left by an ended connection (FIN or RST
 * seen) does not speak for a new connection on the same ports (IPVS's {@code conn_reuse_mode}): a SYN is placed
 * afresh, and a newer record in the replica (a peer placed the new connection) wins over it.
 * A result of {@link MaglevTable#NO_BACKEND} means no backend takes new flows.
 *
 * <p>Allocation-free: the answer is one {@code long} ({@link #outcome} and {@link #index}).
 */
public final class Placement {
    /** No record of the flow (a flow id is 32 bits, unsigned in a long, so never this). */
    public static final long UNKNOWN = -1;

    public static final int KEPT = 0;
    public static final int ADOPTED = 1;
    public static final int NEW = 2;
    public static final int REHASHED_REMOVED = 3;
    public static final int REHASHED_DOWN = 4;

    /** {@link #speaker}: no record speaks for the flow. */
    public static final int SPEAKER_NONE = 0;
    /** {@link #speaker}: this node's flow table. */
    public static final int SPEAKER_LOCAL = 1;
    /** {@link #speaker}: the replica (what a peer placed). */
    public static final int SPEAKER_REPLICA = 2;

    private Placement() {
    }

    /**
     * Which record speaks for a flow. This node's record, unless it is what an ended connection left (its
     * {@code localEnded}: FIN or RST seen) and either this packet opens a new connection ({@code syn}: SYN without
     * ACK) or the replica holds a newer record (a new connection on the same ports that a peer placed). The replica's
     * record speaks when this node's does not, unless it too is an ended connection's and this is a SYN.
     *
     * @param localVersion   the version (creation stamp) of this node's record, if {@code local}
     * @param replicaVersion the replica record's version, if {@code replica}
     * @return {@link #SPEAKER_NONE}, {@link #SPEAKER_LOCAL} or {@link #SPEAKER_REPLICA}
     */
    public static int speaker(boolean local, boolean localEnded, long localVersion, boolean replica,
                              boolean replicaEnded, long replicaVersion, boolean syn) {
        boolean localSpeaks = local && !(localEnded && syn);
        boolean replicaSpeaks = replica && !(replicaEnded && syn);
        if (localSpeaks && !(localEnded && replicaSpeaks && replicaVersion > localVersion)) {
            return SPEAKER_LOCAL;
        }
        return replicaSpeaks ? SPEAKER_REPLICA : SPEAKER_NONE;
    }

    /**
     * @param hash     the flow's hash (its Maglev key)
     * @param recorded the flow id of the backend this node's flow table holds for the flow, or {@link #UNKNOWN}
     * @param replica  the flow id the replica holds (read only when {@code recorded} is unknown), or {@link #UNKNOWN}
     * @return {@code outcome << 32 | backend index}
     */
    public static long place(RoutingSnapshot s, long hash, long recorded, long replica) {
        long known = recorded != UNKNOWN ? recorded : replica;
        if (known != UNKNOWN) {
            int idx = s.indexOfFlowId((int) known);
            if (keeps(s, idx)) {
                return of(recorded != UNKNOWN ? KEPT : ADOPTED, idx);
            }
            return of(idx < 0 ? REHASHED_REMOVED : REHASHED_DOWN, s.table().lookup(hash));
        }
        return of(NEW, s.table().lookup(hash));
    }

    /**
     * Rules 1 and 2 alone, for a data plane that chooses new flows its own way (proxy-mode UDP sessions, under the
     * pool's algorithm and per-backend limits): the index of the backend recorded for a flow while it still takes
     * the flow, else -1 (removed or down: decide again).
     *
     * @param recordedFlowId the flow id of the recorded backend
     */
    public static int kept(RoutingSnapshot s, int recordedFlowId) {
        int idx = s.indexOfFlowId(recordedFlowId);
        return keeps(s, idx) ? idx : -1;
    }

    private static boolean keeps(RoutingSnapshot s, int idx) {
        return idx >= 0 && s.backendAt(idx).keepsFlows();
    }

    /** A flow id as {@link #place} takes it. */
    public static long known(int flowId) {
        return flowId & 0xFFFFFFFFL;
    }

    public static int outcome(long placed) {
        return (int) (placed >>> 32);
    }

    /** The backend's index in the snapshot, or {@link MaglevTable#NO_BACKEND}. */
    public static int index(long placed) {
        return (int) placed;
    }

    /** How {@code /lookup} names an outcome. */
    public static String name(int outcome) {
        return switch (outcome) {
            case KEPT -> "flow-table";
            case ADOPTED -> "replica";
            case REHASHED_REMOVED -> "rehashed-backend-removed";
            case REHASHED_DOWN -> "rehashed-backend-down";
            default -> "maglev";
        };
    }

    private static long of(int outcome, int idx) {
        return (long) outcome << 32 | idx & 0xFFFFFFFFL;
    }
}
