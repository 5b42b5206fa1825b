package io.l4mesh.node.config;

import java.time.Duration;

/**
 * A listening socket and the pool it balances over.
 *
 * @param maxConnections TCP: concurrent connections; UDP: concurrent client sessions (the session table bound)
 * @param idleTimeout    null to use the pool's; UDP sessions expire after this long without a datagram
 * @param packet         packet-mode (DSR) settings, or null for proxy mode
 */
public record ListenerConfig(String name, HostPort bind, Protocol protocol, String pool, Algorithm algorithm,
                             int maxConnections, Duration idleTimeout, PacketConfig packet) {
    public static final int DEFAULT_MAX_CONNECTIONS = 65_536;
    public static final Duration DEFAULT_UDP_IDLE_TIMEOUT = Duration.ofSeconds(30);
}
