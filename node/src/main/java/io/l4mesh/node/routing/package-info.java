/**
 * Pools, backends and the immutable routing snapshot the data path reads.
 *
 * <p>Threading: one control thread owns every mutation of a pool (backend add/remove/weight/drain, health
 * transitions, reloads). After each change it builds a new {@link io.l4mesh.node.routing.RoutingSnapshot} (Maglev
 * table included) and publishes it with one volatile write. Event loops read the snapshot reference once per new
 * flow and never lock. Per-backend counters are atomics written by the event loops and read at scrape time.
 */
package io.l4mesh.node.routing;
