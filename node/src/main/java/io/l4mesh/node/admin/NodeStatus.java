package io.l4mesh.node.admin;

import java.util.List;

/**
 * What a node reports about itself on {@code GET /status} (and {@code l4mesh status --json}). Field names are a
 * stable interface for scripts.
 */
public record NodeStatus(String node, String version, long uptimeSeconds, String transport, boolean draining,
                         String hashAlgorithm, int maglevTableSize, long flows, List<Listener> listeners,
                         List<Pool> pools) {

    /** A listener and its counters. */
    public record Listener(String name, String protocol, String bind, String pool, String algorithm, long active,
                           int maxConnections, long accepted, long rejectedLimit, long rejectedNoBackend,
                           long rejectedConnectFailed, long idleTimeouts, long resets, long bytesIn, long bytesOut) {
    }

    /** A pool, its routing snapshot and its backends. */
    public record Pool(String name, long version, String fingerprint, int eligible, List<Backend> backends) {
    }

    /**
     * A backend with health and counts. {@code health} is what routing uses (the mesh's verdict, or this node's own
     * when alone); {@code localHealth} is what this node's probes see. {@code slots}: its share of the Maglev table.
     */
    public record Backend(String address, int weight, boolean draining, String health, String healthReason,
                          String localHealth, String localReason, boolean eligible, long active, long flows,
                          long connectFailures, int slots) {
    }

    /** The answer to "which backend would this flow go to". */
    /**
     * Where a flow goes.
     *
     * @param placedBy {@code flow-table} when a packet listener has the flow recorded (its backend wins over the
     *                 hash), else the algorithm's name
     * @param hashBackend the backend the algorithm alone would pick now
     */
    public record Lookup(String listener, String pool, String algorithm, String source, String destination,
                         String protocol, String backend, String flowHash, int slot, String placedBy,
                         String hashBackend) {
    }
}
