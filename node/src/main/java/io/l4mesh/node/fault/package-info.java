/**
 * The node's fault seams in one place ({@link io.l4mesh.node.fault.FaultInjector}): gossip partitions and lossy
 * gossip links, failing health probes, and lost flow-sync datagrams. They do nothing unless a test or the chaos
 * suite sets them, and the admin API reaches them ({@code /fault/*}) only with {@code membership.faultInjection: true}.
 * Depends on {@code membership} (whose transport holds the gossip seam) and nothing else of the node.
 */
package io.l4mesh.node.fault;
