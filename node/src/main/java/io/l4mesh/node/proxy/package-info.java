/**
 * Proxy mode: TCP and UDP listeners that terminate the client's connection and open one to the chosen backend.
 *
 * <p>Threading: a TCP connection's two channels live on the same event loop (the backend channel is registered on
 * the client's loop), so a {@link io.l4mesh.node.proxy.TcpProxyConnection}'s fields need no synchronisation. A UDP
 * listener has one socket per event loop (SO_REUSEPORT on Linux) and each socket's session table belongs to its
 * loop. The only shared state is the routing snapshot (immutable) and atomic counters.
 */
package io.l4mesh.node.proxy;
