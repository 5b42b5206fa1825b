package io.l4mesh.node.admin;

import io.l4mesh.node.config.BackendConfig;
import io.l4mesh.node.config.NodeConfig;
import io.l4mesh.node.fault.FaultInjector;
import io.l4mesh.node.mesh.Mesh;
import io.l4mesh.node.metrics.NodeMetrics;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * What the admin API may ask of a node, and nothing more: the server depends on this, not on the node.
 *
 * <p>Queries answer on the caller's thread from published state (they never wait for the control thread). Changes
 * return a future that the control thread completes, so the API's event loop never blocks on them; a change that
 * cannot be applied completes exceptionally ({@link io.l4mesh.node.routing.PoolException} says why).
 */
public interface NodeControl {
    /** The configuration the node runs (its id, its source file, whether fault injection is on). */
    NodeConfig config();

    NodeMetrics metrics();

    /** Listeners, pools and backends as last published. */
    NodeStatus status();

    /** Where a flow goes now, by the packet path's own placement rules. */
    NodeStatus.Lookup lookup(String listener, InetSocketAddress source, InetSocketAddress destination);

    /** True once a graceful stop began. */
    boolean draining();

    /** Null when this node can serve, else why not ({@code /healthz}). */
    String selfCheck();

    /** The mesh (members and divergence as published), or null when this node runs alone. */
    Mesh mesh();

    /** The fault seams (the API exposes them only when fault injection is on). */
    FaultInjector faults();

    /** Adds backends to a pool as one change (all or none). */
    CompletableFuture<Void> addBackends(String pool, List<BackendConfig> adds);

    /**
     * Changes one backend: {@code weight} -1 keeps it, {@code draining} null keeps it, {@code remove} removes it.
     */
    CompletableFuture<Void> changeBackend(String pool, String id, int weight, Boolean draining, boolean remove);

    /**
     * Reads the node's config file again and applies it; completes with the file's path, or exceptionally with why
     * nothing changed (a {@link io.l4mesh.node.config.ConfigException} for a file that does not validate).
     */
    CompletableFuture<String> reloadFromFile();

    /** What this node says about its load (the live mesh page; gossiped to the others in a mesh). Any thread. */
    io.l4mesh.node.mesh.NodeLoad load();
}
