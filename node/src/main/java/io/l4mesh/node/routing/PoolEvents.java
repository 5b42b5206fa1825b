package io.l4mesh.node.routing;

/** What a pool tells the rest of the node. Called on the control thread. */
public interface PoolEvents {
    void backendAdded(PoolRuntime pool, BackendRuntime backend);

    void backendRemoved(PoolRuntime pool, BackendRuntime backend);

    void healthChanged(PoolRuntime pool, BackendRuntime backend, Health health, String reason);

    void snapshotPublished(PoolRuntime pool, RoutingSnapshot snapshot);
}
