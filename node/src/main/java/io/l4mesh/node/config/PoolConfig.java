package io.l4mesh.node.config;

import java.time.Duration;
import java.util.List;

/**
 * A pool of backends and how to reach them.
 *
 * @param maxConnectionsPerBackend 0 for no limit; a backend at its limit is skipped like a failed one
 * @param encapsulation            how packet-mode listeners reach the backends
 */
public record PoolConfig(String name, List<BackendConfig> backends, HealthCheckConfig healthCheck,
                         Duration connectTimeout, Duration idleTimeout, int maxConnectionsPerBackend,
                         ProxyProtocol proxyProtocol, EncapsulationConfig encapsulation) {
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(3);
    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofMinutes(5);

    public PoolConfig {
        backends = List.copyOf(backends);
    }
}
