package io.l4mesh.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.l4mesh.node.config.BackendConfig;
import io.l4mesh.node.config.ConfigException;
import io.l4mesh.node.config.ConfigLoader;
import io.l4mesh.node.config.HostPort;
import io.l4mesh.node.telemetry.Telemetry;
import io.l4mesh.node.testing.Await;
import io.l4mesh.node.testing.Cleanup;
import io.l4mesh.node.testing.MeshNodes;
import io.l4mesh.node.testing.TcpTestServer;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * OpenTelemetry spans for the control plane, through real nodes: pool changes with the rebuild they cause as a
 * child, health transitions, a member joining and leaving, a change gossiped from a peer; recorded by the SDK's
 * in-memory exporter; and OTLP export (traces and metrics) to a collector that this test runs on loopback.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class TelemetryTest {
    private final Cleanup cleanup = new Cleanup();
    @TempDir
    Path dir;

    @AfterEach
    void close() throws Exception {
        cleanup.close();
    }

    /** An SDK whose spans land in {@code spans} as each one ends. */
    private static OpenTelemetrySdk sdk(InMemorySpanExporter spans) {
        return OpenTelemetrySdk.builder().setTracerProvider(SdkTracerProvider.builder()
            .addSpanProcessor(SimpleSpanProcessor.create(spans)).build()).build();
    }

    private static List<SpanData> named(InMemorySpanExporter spans, String name) {
        return spans.getFinishedSpanItems().stream().filter(s -> s.getName().equals(name)).toList();
    }

    private static String attr(SpanData s, io.opentelemetry.api.common.AttributeKey<String> k) {
        return s.getAttributes().get(k);
    }

    private static BackendConfig backend(TcpTestServer s) {
        return new BackendConfig(HostPort.parse(s.address(), false), 1, false);
    }

    @Test
    void aPoolChangeIsASpanAndItsRebuildAChild() throws Exception {
        InMemorySpanExporter spans = InMemorySpanExporter.create();
        TcpTestServer b1 = cleanup.add(TcpTestServer.named("b1"));
        TcpTestServer b2 = cleanup.add(TcpTestServer.named("b2"));
        Node node = cleanup.add(Node.start(ConfigLoader.parse("""
            node: {id: t1}
            admin: {enabled: false}
            listeners: [{name: t, bind: 127.0.0.1:0, pool: p}]
            pools: {p: {backends: [%s], healthCheck: {enabled: false}}}
            """.formatted(b1.address()), null), Telemetry.of("t1", sdk(spans))));
        node.addBackends("p", List.of(backend(b2))).get(5, TimeUnit.SECONDS);

        SpanData change = named(spans, "pool.change").getFirst();
        assertEquals("t1", attr(change, Telemetry.NODE));
        assertEquals("p", attr(change, Telemetry.POOL));
        assertEquals("add", attr(change, Telemetry.CHANGE));
        assertEquals(b2.address(), attr(change, Telemetry.BACKEND));
        SpanData rebuild = named(spans, "pool.rebuild").stream()
            .filter(s -> s.getParentSpanId().equals(change.getSpanId())).findFirst().orElseThrow(
                () -> new AssertionError("no rebuild under the change: " + spans.getFinishedSpanItems()));
        assertEquals(change.getTraceId(), rebuild.getTraceId());
        assertEquals(2L, rebuild.getAttributes().get(Telemetry.VERSION), "the table the change built");
        assertEquals(2L, rebuild.getAttributes().get(Telemetry.ELIGIBLE));
        assertTrue(rebuild.getEndEpochNanos() >= rebuild.getStartEpochNanos());

        // a change that fails is a span marked as an error, and changes nothing
        assertThrows(Exception.class, () -> node.addBackends("p", List.of(backend(b2))).get(5, TimeUnit.SECONDS));
        SpanData failed = named(spans, "pool.change").getLast();
        assertEquals(io.opentelemetry.api.trace.StatusCode.ERROR, failed.getStatus().getStatusCode());
        assertTrue(failed.getStatus().getDescription().contains("already in pool"), failed.getStatus().toString());
    }

    @Test
    void aHealthTransitionIsASpan() throws Exception {
        InMemorySpanExporter spans = InMemorySpanExporter.create();
        TcpTestServer b1 = cleanup.add(TcpTestServer.named("b1"));
        TcpTestServer b2 = TcpTestServer.named("b2");
        cleanup.add(Node.start(ConfigLoader.parse("""
            node: {id: t2}
            admin: {enabled: false}
            listeners: [{name: t, bind: 127.0.0.1:0, pool: p}]
            pools: {p: {backends: [%s, %s], healthCheck: {interval: 100ms, timeout: 100ms, rise: 1, fall: 2}}}
            """.formatted(b1.address(), b2.address()), null), Telemetry.of("t2", sdk(spans))));
        b2.close();
        Await.until(Duration.ofSeconds(10), "a span for b2 going down", () -> named(spans, "backend.health").stream()
            .anyMatch(s -> b2.address().equals(attr(s, Telemetry.BACKEND)) && "down".equals(attr(s, Telemetry.HEALTH))));
        SpanData down = named(spans, "backend.health").getFirst();
        assertEquals("t2", attr(down, Telemetry.NODE));
        assertEquals("p", attr(down, Telemetry.POOL));
        assertTrue(attr(down, Telemetry.REASON).startsWith("probe"), attr(down, Telemetry.REASON));
        assertTrue(named(spans, "backend.local_health").stream().anyMatch(s -> "down".equals(attr(s, Telemetry.HEALTH))),
            "this node's own observation too");
    }

    private String meshConfig(String id, int gossip, List<Integer> seeds, String backend) throws Exception {
        Path key = dir.resolve("key");
        if (!Files.exists(key)) {
            Files.writeString(key, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
        }
        return """
            node: {id: %s, dataDir: %s}
            admin: {enabled: false}
            listeners: [{name: t, bind: 127.0.0.1:0, pool: p}]
            pools: {p: {backends: [%s], healthCheck: {enabled: false}}}
            membership: {bind: 127.0.0.1:%d, seeds: [%s], keyFile: %s}
            """.formatted(id, dir.resolve("data-" + id), backend, gossip,
            String.join(", ", seeds.stream().map(p -> "127.0.0.1:" + p).toList()), key);
    }

    @Test
    void joinsLeavesAndGossipedChangesAreSpans() throws Exception {
        InMemorySpanExporter spansA = InMemorySpanExporter.create();
        InMemorySpanExporter spansB = InMemorySpanExporter.create();
        TcpTestServer b1 = cleanup.add(TcpTestServer.named("b1"));
        TcpTestServer b2 = cleanup.add(TcpTestServer.named("b2"));
        int gossip = MeshNodes.freePorts(2);
        Node a = cleanup.add(Node.start(ConfigLoader.parse(meshConfig("a", gossip, List.of(), b1.address()), null),
            Telemetry.of("a", sdk(spansA))));
        Node b = Node.start(ConfigLoader.parse(meshConfig("b", gossip + 1, List.of(gossip), b1.address()), null),
            Telemetry.of("b", sdk(spansB)));
        try {
            assertEquals(1, named(spansB, "mesh.join").size(), "b's join");
            Await.until(Duration.ofSeconds(20), "a sees b join", () -> named(spansA, "mesh.member.joined").stream()
                .anyMatch(s -> "b".equals(attr(s, Telemetry.MEMBER))));
            a.addBackends("p", List.of(backend(b2))).get(5, TimeUnit.SECONDS);
            Await.until(Duration.ofSeconds(20), "b applies a's change, and traces it", () -> named(spansB, "pool.change")
                .stream().anyMatch(s -> "gossip".equals(attr(s, Telemetry.ORIGIN)) && "a".equals(attr(s, Telemetry.PEER))));
            SpanData gossiped = named(spansB, "pool.change").stream()
                .filter(s -> "gossip".equals(attr(s, Telemetry.ORIGIN))).findFirst().orElseThrow();
            assertEquals("p", attr(gossiped, Telemetry.POOL));
            assertEquals("b", attr(gossiped, Telemetry.NODE));
            assertTrue(named(spansB, "pool.rebuild").stream()
                .anyMatch(s -> s.getParentSpanId().equals(gossiped.getSpanId())), "b's rebuild is the change's child");
        } finally {
            b.close();
        }
        Await.until(Duration.ofSeconds(20), "a sees b leave", () -> named(spansA, "mesh.member.left").stream()
            .anyMatch(s -> "b".equals(attr(s, Telemetry.MEMBER))));
    }

    @Test
    void tracesAndMetricsAreExportedOverOtlp() throws Exception {
        Map<String, String> received = new ConcurrentHashMap<>();
        HttpServer collector = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        collector.createContext("/", x -> {
            byte[] body;
            try (InputStream in = "gzip".equals(x.getRequestHeaders().getFirst("Content-Encoding"))
                ? new GZIPInputStream(x.getRequestBody()) : x.getRequestBody()) {
                body = in.readAllBytes();
            }
            received.merge(x.getRequestURI().getPath(), new String(body, StandardCharsets.ISO_8859_1), String::concat);
            x.sendResponseHeaders(200, -1);
            x.close();
        });
        collector.start();
        cleanup.add(() -> collector.stop(0));
        TcpTestServer b1 = cleanup.add(TcpTestServer.named("b1"));
        TcpTestServer b2 = cleanup.add(TcpTestServer.named("b2"));
        Node node = cleanup.add(Node.start(ConfigLoader.parse("""
            node: {id: t4}
            admin: {enabled: false}
            listeners: [{name: t, bind: 127.0.0.1:0, pool: p}]
            pools: {p: {backends: [%s], healthCheck: {enabled: false}}}
            telemetry: {otlp: {endpoint: "http://127.0.0.1:%d", interval: 1s}}
            """.formatted(b1.address(), collector.getAddress().getPort()), null)));
        node.addBackends("p", List.of(backend(b2))).get(5, TimeUnit.SECONDS);
        Await.until(Duration.ofSeconds(20), "the change's spans reach the collector",
            () -> received.getOrDefault("/v1/traces", "").contains("pool.change")
                && received.get("/v1/traces").contains("pool.rebuild")
                && received.get("/v1/traces").contains("l4mesh.node.id"));
        Await.until(Duration.ofSeconds(20), "the node's metrics reach the collector",
            () -> received.getOrDefault("/v1/metrics", "").contains("l4mesh.connections")
                && received.get("/v1/metrics").contains("l4mesh.backend.connect.time"));
        assertTrue(received.get("/v1/metrics").contains("t4"), "under the node's id");
    }

    @Test
    void otlpIsOffByDefaultAndABadEndpointIsOneLine() throws Exception {
        String base = """
            listeners: [{name: t, bind: 127.0.0.1:0, pool: p}]
            pools: {p: {backends: [127.0.0.1:1]}}
            """;
        assertNull(ConfigLoader.parse(base, null).telemetry(), "no telemetry section: nothing is exported");
        ConfigException e = assertThrows(ConfigException.class,
            () -> ConfigLoader.parse(base + "telemetry: {otlp: {endpoint: \"grpc://x:4317\"}}\n", null));
        assertTrue(e.getMessage().contains("telemetry.otlp.endpoint") && !e.getMessage().contains("\n"),
            e.getMessage());
        assertThrows(ConfigException.class, () -> ConfigLoader.parse(base + "telemetry: {otlp: {}}\n", null));
        assertThrows(ConfigException.class, () -> ConfigLoader.parse(base
            + "telemetry: {otlp: {endpoint: \"http://127.0.0.1:4318\", tracez: true}}\n", null));
    }
}
