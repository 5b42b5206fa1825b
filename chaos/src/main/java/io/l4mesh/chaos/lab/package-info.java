/**
 * {@code l4mesh lab}: a packet-mode test bed in network namespaces on one Linux host (root): clients, a router
 * running BIRD 2 with BGP multipath (ECMP) into its kernel, l4mesh nodes that announce the VIP by BGP while they
 * serve it, and backends that decapsulate and answer clients directly.
 */
package io.l4mesh.chaos.lab;
