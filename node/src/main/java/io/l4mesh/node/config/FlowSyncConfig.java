package io.l4mesh.node.config;

import java.time.Duration;

/**
 * Flow-table sync between the nodes of a mesh ({@code membership.flowSync}): every node sends the flows it places
 * to every other live node over UDP (authenticated with the cluster key) and serves snapshots over TCP on the same
 * port.
 *
 * @param enabled          off: each node keeps only its own flows (connections moved by ECMP after a pool change
 *                         may break)
 * @param port             UDP and TCP port on the membership address (0: the membership port + 1)
 * @param maxBytesPerSecond outgoing sync bytes per second per peer; entries beyond it wait, then are dropped and counted
 * @param snapshotTimeout  how long a starting node waits for a peer's snapshot before it announces its VIPs anyway
 */
public record FlowSyncConfig(boolean enabled, int port, long maxBytesPerSecond, Duration snapshotTimeout) {
    public static final long DEFAULT_MAX_BYTES_PER_SECOND = 50_000_000;
    public static final FlowSyncConfig DEFAULTS = new FlowSyncConfig(true, 0, DEFAULT_MAX_BYTES_PER_SECOND,
        Duration.ofSeconds(5));
}
