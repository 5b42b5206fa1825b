/**
 * The systems a chaos run works on, behind {@link io.l4mesh.chaos.cluster.Cluster}: the packet-mode lab
 * ({@link io.l4mesh.chaos.cluster.LabCluster}, root) and a proxy-mode mesh on loopback
 * ({@link io.l4mesh.chaos.cluster.LoopbackCluster}). Each can take the faults its target supports and return to its
 * baseline between scenarios.
 */
package io.l4mesh.chaos.cluster;
