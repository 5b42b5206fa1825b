package io.l4mesh.node.config;

import java.net.URI;
import java.time.Duration;

/**
 * The {@code telemetry} section: OpenTelemetry export over OTLP/HTTP (protobuf), off unless configured.
 *
 * @param endpoint where the collector listens, for example {@code http://127.0.0.1:4318}; traces go to
 *                 {@code /v1/traces} and metrics to {@code /v1/metrics} under it
 * @param traces   export the control plane's spans (joins, leaves, health transitions, pool changes and their
 *                 rebuilds, flow snapshots)
 * @param metrics  push every metric (the same ones {@code /metrics} serves) every {@code interval}
 * @param interval how often metrics are pushed and spans are flushed
 */
public record TelemetryConfig(URI endpoint, boolean traces, boolean metrics, Duration interval) {
    public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(30);

    /** The URL of one OTLP signal ({@code traces} or {@code metrics}) under the endpoint. */
    public String signalUrl(String signal) {
        String base = endpoint.toString();
        return (base.endsWith("/") ? base : base + "/") + "v1/" + signal;
    }
}
