package io.l4mesh.node.routing;

/** What a pool tells the rest of the node. Called on the control thread. */
public interface PoolEvents {
    void backendAdded(PoolRuntime pool, BackendRuntime backend);

    void backendRemoved(PoolRuntime pool, BackendRuntime backend);

    /** The pool's (effective) health of a backend changed: it enters or leaves the table. */
    void healthChanged(PoolRuntime pool, BackendRuntime backend, Health health, String reason);

    /** This node's own observation of a backend changed (probes, passive failures, damping). */
    void localHealthChanged(PoolRuntime pool, BackendRuntime backend, Health health, String reason);

    void snapshotPublished(PoolRuntime pool, RoutingSnapshot snapshot);
}
