package io.l4mesh.node.telemetry;

import io.l4mesh.node.config.TelemetryConfig;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.common.AttributesBuilder;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Scope;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import java.util.concurrent.TimeUnit;

/**
 * The node's spans. Every span carries the node's id ({@code l4mesh.node.id}, also the resource's
 * {@code service.instance.id}); pool events carry {@code l4mesh.pool}. Point events (a health transition, a member
 * joining) are spans of their own, so that a trace backend lists them on the node's timeline; a change is a span
 * around the work, and what it causes (the rebuild) is its child.
 *
 * <p>Off (the default) it is OpenTelemetry's no-op: a span costs a few calls and allocates nothing worth counting.
 * Only the control plane uses it, never the data path.
 *
 * <p>Threading: any thread; a span is started and ended on one thread (the control thread, mostly).
 */
public final class Telemetry implements AutoCloseable {
    public static final AttributeKey<String> NODE = AttributeKey.stringKey("l4mesh.node.id");
    public static final AttributeKey<String> POOL = AttributeKey.stringKey("l4mesh.pool");
    public static final AttributeKey<String> BACKEND = AttributeKey.stringKey("l4mesh.backend");
    public static final AttributeKey<String> HEALTH = AttributeKey.stringKey("l4mesh.health");
    public static final AttributeKey<String> REASON = AttributeKey.stringKey("l4mesh.reason");
    public static final AttributeKey<String> MEMBER = AttributeKey.stringKey("l4mesh.member");
    public static final AttributeKey<String> ORIGIN = AttributeKey.stringKey("l4mesh.origin");
    public static final AttributeKey<String> CHANGE = AttributeKey.stringKey("l4mesh.change");
    public static final AttributeKey<String> PEER = AttributeKey.stringKey("l4mesh.peer");
    public static final AttributeKey<Long> VERSION = AttributeKey.longKey("l4mesh.snapshot.version");
    public static final AttributeKey<Long> ELIGIBLE = AttributeKey.longKey("l4mesh.backends.eligible");
    public static final AttributeKey<Long> COUNT = AttributeKey.longKey("l4mesh.count");

    private final String nodeId;
    private final Tracer tracer;
    private final AutoCloseable sdk;

    private Telemetry(String nodeId, OpenTelemetry otel, AutoCloseable sdk) {
        this.nodeId = nodeId;
        this.tracer = otel.getTracer("io.l4mesh.node");
        this.sdk = sdk;
    }

    /** No spans recorded or exported. */
    public static Telemetry off(String nodeId) {
        return new Telemetry(nodeId, OpenTelemetry.noop(), () -> { });
    }

    /** Spans go to {@code otel} (tests give an SDK with an in-memory exporter); closing leaves it open. */
    public static Telemetry of(String nodeId, OpenTelemetry otel) {
        return new Telemetry(nodeId, otel, () -> { });
    }

    /** As configured: spans exported over OTLP/HTTP when {@code config.traces()}, else off. */
    public static Telemetry start(String nodeId, TelemetryConfig config) {
        if (config == null || !config.traces()) {
            return off(nodeId);
        }
        OtlpHttpSpanExporter exporter = OtlpHttpSpanExporter.builder().setEndpoint(config.signalUrl("traces"))
            .setTimeout(10, TimeUnit.SECONDS).build();
        SdkTracerProvider provider = SdkTracerProvider.builder().setResource(resource(nodeId))
            .addSpanProcessor(BatchSpanProcessor.builder(exporter)
                .setScheduleDelay(Math.min(5_000, config.interval().toMillis()), TimeUnit.MILLISECONDS)
                .setMaxQueueSize(2048).build())
            .build();
        OpenTelemetrySdk sdk = OpenTelemetrySdk.builder().setTracerProvider(provider).build();
        return new Telemetry(nodeId, sdk, () -> provider.shutdown().join(5, TimeUnit.SECONDS));
    }

    /** The resource every l4mesh span and metric is exported under. */
    public static Resource resource(String nodeId) {
        return Resource.getDefault().merge(Resource.create(Attributes.of(
            AttributeKey.stringKey("service.name"), "l4mesh",
            AttributeKey.stringKey("service.instance.id"), nodeId)));
    }

    /** Attributes for a span: the node's id, then {@code keyValues} (alternating keys and values; null values skipped). */
    private Attributes attributes(Object... keyValues) {
        AttributesBuilder b = Attributes.builder().put(NODE, nodeId);
        for (int i = 0; i + 1 < keyValues.length; i += 2) {
            Object v = keyValues[i + 1];
            if (v == null) {
                continue;
            }
            @SuppressWarnings("unchecked")
            AttributeKey<Object> k = (AttributeKey<Object>) keyValues[i];
            b.put(k, v);
        }
        return b.build();
    }

    /** Something that happened at one moment (a transition, a member joining): a span of no length. */
    public void event(String name, Object... keyValues) {
        tracer.spanBuilder(name).setAllAttributes(attributes(keyValues)).startSpan().end();
    }

    /**
     * Something that took {@code nanos} and ended now (a rebuild): a span from then to now, the child of the span
     * current on this thread (the change that caused it), if any.
     */
    public void took(String name, long nanos, Object... keyValues) {
        long end = System.currentTimeMillis() * 1_000_000L;
        tracer.spanBuilder(name).setAllAttributes(attributes(keyValues))
            .setStartTimestamp(end - nanos, TimeUnit.NANOSECONDS).startSpan().end(end, TimeUnit.NANOSECONDS);
    }

    /** Work that may fail. */
    @FunctionalInterface
    public interface Work<T, E extends Exception> {
        T run() throws E;
    }

    /**
     * Runs {@code work} inside a span (current on this thread while it runs, so what it causes becomes its child);
     * a failure marks the span as an error with its message and is rethrown.
     */
    public <T, E extends Exception> T around(String name, Work<T, E> work, Object... keyValues) throws E {
        Span span = tracer.spanBuilder(name).setAllAttributes(attributes(keyValues)).startSpan();
        try (Scope ignored = span.makeCurrent()) {
            return work.run();
        } catch (Exception e) {
            span.setStatus(StatusCode.ERROR, String.valueOf(e.getMessage()));
            throw e;
        } finally {
            span.end();
        }
    }

    /** Adds an attribute to the span current on this thread (inside {@link #around}); nothing outside one. */
    public void annotate(AttributeKey<Long> key, long value) {
        Span.current().setAttribute(key, value);
    }

    /** Flushes what is queued and stops the exporter. */
    @Override
    public void close() {
        try {
            sdk.close();
        } catch (Exception ignored) {
            // the collector is gone: nothing more to send
        }
    }
}
