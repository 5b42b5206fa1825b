package io.l4mesh.node.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A whole node's configuration, validated by {@link ConfigLoader}.
 *
 * @param source         the file it came from (null when built in code), re-read on reload
 * @param admin          the admin API's bind address, or null when disabled
 * @param ioThreads      event loops for the data path (0: one per core)
 * @param maglevTableSize prime table size M
 * @param shutdownGrace  how long SIGTERM waits for open connections before closing them
 * @param withdrawDelay  how long SIGTERM keeps a packet-mode node forwarding after it withdrew its VIP routes, so
 *                       the router moves the traffic before the node stops (0: stop at once)
 * @param mesh           the {@code membership} section, or null to run alone
 * @param dataDir        where the node keeps state across restarts (the converged pool), or null for none
 * @param telemetry      OpenTelemetry export over OTLP, or null (off: the default)
 */
public record NodeConfig(Path source, String nodeId, HostPort admin, int ioThreads, TransportKind transport,
                         int maglevTableSize, Duration shutdownGrace, Duration withdrawDelay,
                         List<ListenerConfig> listeners,
                         Map<String, PoolConfig> pools, MeshConfig mesh, Path dataDir, TelemetryConfig telemetry) {
    public static final HostPort DEFAULT_ADMIN = new HostPort("127.0.0.1", 9090);
    public static final Duration DEFAULT_SHUTDOWN_GRACE = Duration.ofSeconds(30);
    /** BIRD learns a route change at once (netlink) and BGP carries it in milliseconds: one second covers both. */
    public static final Duration DEFAULT_WITHDRAW_DELAY = Duration.ofSeconds(1);

    public NodeConfig {
        listeners = List.copyOf(listeners);
        pools = Map.copyOf(pools);
    }

    /** The listener with this name, or null. */
    public ListenerConfig listener(String name) {
        return listeners.stream().filter(l -> l.name().equals(name)).findFirst().orElse(null);
    }
}
