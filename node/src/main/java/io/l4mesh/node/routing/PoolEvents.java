package io.l4mesh.node.routing;

/**
 * What a pool tells its owner, on the control thread: notifications for metrics, health checks and the log. They
 * report what happened; none of them may change a pool (the control plane changes pools, then publishes once).
 */
public interface PoolEvents {
    void backendAdded(PoolRuntime pool, BackendRuntime backend);

    void backendRemoved(PoolRuntime pool, BackendRuntime backend);

    /** The pool's (effective) health of a backend changed: it enters or leaves the table. */
    void healthChanged(PoolRuntime pool, BackendRuntime backend, Health health, String reason);

    /** This node's own observation of a backend changed (probes, passive failures, damping). */
    void localHealthChanged(PoolRuntime pool, BackendRuntime backend, Health health, String reason);

    /**
     * A rebuild published a new table, built in {@code buildNanos} (logged and traced; the node's state is published
     * by whoever changed the pool).
     */
    void snapshotPublished(PoolRuntime pool, RoutingSnapshot snapshot, long buildNanos);
}
