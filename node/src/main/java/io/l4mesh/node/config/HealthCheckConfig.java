package io.l4mesh.node.config;

import java.time.Duration;

/**
 * Active TCP-connect health checks with rise/fall hysteresis (HAProxy's {@code inter}, {@code rise}, {@code fall}).
 * Passive marking uses {@code fall} too: that many consecutive failed connects from live traffic mark a backend
 * down until {@code rise} probes succeed.
 *
 * @param throughTunnel {@code through: tunnel}: for a pool behind a packet-mode VIP, probe the VIP's service through
 *                      the encapsulation to each backend (what clients use: a backend whose decapsulation or VIP
 *                      address is broken fails), instead of the backend's own address
 */
public record HealthCheckConfig(boolean enabled, Duration interval, Duration timeout, int rise, int fall,
                                boolean throughTunnel) {
    public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(2);
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(1);
    public static final int DEFAULT_RISE = 2;
    public static final int DEFAULT_FALL = 3;

    public static HealthCheckConfig defaults() {
        return new HealthCheckConfig(true, DEFAULT_INTERVAL, DEFAULT_TIMEOUT, DEFAULT_RISE, DEFAULT_FALL, false);
    }
}
