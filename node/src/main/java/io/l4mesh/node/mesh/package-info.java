/**
 * The mesh: nodes that share one backend pool, one health verdict and so one Maglev table per pool.
 *
 * <p>The pool is a last-writer-wins map from (pool, backend) to an entry stamped with a hybrid logical clock and
 * the writing node's id ({@link io.l4mesh.node.mesh.PoolLedger}); removals are tombstones, collected after
 * {@link io.l4mesh.node.mesh.PoolLedger#TOMBSTONE_TTL_MS}. Changes are gossiped as deltas; every node publishes a
 * digest of its ledger, and a node that sees a different digest sends its whole ledger to that member, so lost
 * gossip, restarts and healed partitions converge. Health: each node publishes the backends it sees down; a
 * backend is down in the mesh when a strict majority of live nodes see it down.
 *
 * <p>Threading: {@link io.l4mesh.node.mesh.Mesh} runs on the node's control thread; membership callbacks are
 * handed to it.
 */
package io.l4mesh.node.mesh;
