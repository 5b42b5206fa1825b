package io.l4mesh.node.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The {@code membership} section: joining a mesh of nodes that share the pool, health and Maglev tables.
 *
 * @param bind           this node's gossip address as others reach it (the port listens on all interfaces)
 * @param seeds          members to join through, in any order; unreachable ones are retried
 * @param keyFile        file holding the cluster key; null means {@code $L4MESH_CLUSTER_KEY}
 * @param faultInjection enables {@code /fault/*} on the admin API (tests and the chaos suite only)
 * @param flowSync       flow-table sync between the members
 */
public record MeshConfig(HostPort bind, List<HostPort> seeds, String clusterName, Path keyFile,
                         Duration pingInterval, Duration pingTimeout, int suspicionMult, Duration syncInterval,
                         Duration gossipInterval, boolean faultInjection, FlowSyncConfig flowSync) {
    public static final String DEFAULT_CLUSTER_NAME = "l4mesh";

    public MeshConfig {
        seeds = List.copyOf(seeds);
    }

    /** The flow-sync port: configured, or the membership port + 1. */
    public int flowSyncPort() {
        return flowSync.port() != 0 ? flowSync.port() : bind.port() + 1;
    }
}
