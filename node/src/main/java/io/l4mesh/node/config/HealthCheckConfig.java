package io.l4mesh.node.config;

import java.time.Duration;

/**
 * Active TCP-connect health checks with rise/fall hysteresis (HAProxy's {@code inter}, {@code rise}, {@code fall}),
 * optionally with a request and the answer it must get (HAProxy's {@code tcp-check send} / {@code expect string}):
 * a backend that accepts connections but never answers (hung, frozen) fails such a check, a bare connect does not.
 * Passive marking uses {@code fall} too: that many consecutive failed connects from live traffic mark a backend
 * down until {@code rise} probes succeed.
 *
 * @param throughTunnel {@code through: tunnel}: for a pool behind a packet-mode VIP, probe the VIP's service through
 *                      the encapsulation to each backend (what clients use: a backend whose decapsulation or VIP
 *                      address is broken fails), instead of the backend's own address
 * @param send          bytes written once connected (UTF-8), or null
 * @param expect        text the answer must contain within {@code timeout} after the connect, or null (a connect is
 *                      enough); with {@code send} null it is a banner the backend sends first
 */
public record HealthCheckConfig(boolean enabled, Duration interval, Duration timeout, int rise, int fall,
                                boolean throughTunnel, String send, String expect) {
    /** The longest {@code send} or {@code expect}, in bytes. */
    public static final int MAX_CHECK_BYTES = 1024;

    public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(2);
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(1);
    public static final int DEFAULT_RISE = 2;
    public static final int DEFAULT_FALL = 3;

    public static HealthCheckConfig defaults() {
        return new HealthCheckConfig(true, DEFAULT_INTERVAL, DEFAULT_TIMEOUT, DEFAULT_RISE, DEFAULT_FALL, false, null,
            null);
    }
}
