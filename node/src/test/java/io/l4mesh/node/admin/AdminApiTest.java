package io.l4mesh.node.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.l4mesh.node.Node;
import io.l4mesh.node.metrics.MetricName;
import io.l4mesh.node.testing.TcpTestServer;
import io.l4mesh.node.testing.TestNodes;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The admin API over HTTP: happy paths, and every bad request answered with a 4xx and a JSON error. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AdminApiTest {
    static TcpTestServer backend;
    static Node node;
    static AdminClient api;

    @BeforeAll
    static void start() throws Exception {
        backend = TcpTestServer.named("a");
        node = TestNodes.start("""
            admin: {bind: 127.0.0.1:0}
            listeners:
              - {name: t, bind: 127.0.0.1:0, protocol: tcp, pool: p}
              - {name: u, bind: 127.0.0.1:0, protocol: udp, pool: p}
            pools:
              p: {backends: [%s]}
            """.formatted(backend.address()));
        api = new AdminClient(TestNodes.admin(node));
    }

    @AfterAll
    static void stop() throws Exception {
        node.close();
        backend.close();
    }

    static Stream<Arguments> badRequests() {
        return Stream.of(
            Arguments.of("GET", "/nope", null, 404, "no such endpoint: /nope"),
            Arguments.of("POST", "/status", null, 405, "POST not allowed here; use GET"),
            Arguments.of("DELETE", "/metrics", null, 405, "DELETE not allowed here; use GET"),
            Arguments.of("POST", "/pools/p/backends", "not json", 400, "body is not valid JSON"),
            Arguments.of("POST", "/pools/p/backends", "[1,2]", 400, "backends[0]: must be a mapping of fields"),
            Arguments.of("POST", "/pools/p/backends", "\"x\"", 400, "body must be a JSON object"),
            Arguments.of("POST", "/pools/p/backends", "{\"address\": \"db:abc\"}", 400,
                "backend.address: 'db:abc' is not host:port"),
            Arguments.of("POST", "/pools/p/backends", "{}", 400, "backend.address: is required"),
            Arguments.of("POST", "/pools/p/backends", "{\"address\": \"10.0.0.1:80\", \"weight\": -3}", 400,
                "backend.weight: -3 is not in 0..1000000"),
            Arguments.of("POST", "/pools/p/backends", "{\"address\": \"10.0.0.1:80\", \"colour\": 1}", 400,
                "backend.colour: unknown field (expected one of address, weight, draining)"),
            Arguments.of("POST", "/pools/nope/backends", "{\"address\": \"10.0.0.1:80\"}", 404,
                "no pool named 'nope'"),
            Arguments.of("DELETE", "/pools/p/backends/10.9.9.9:1", null, 404, "no backend 10.9.9.9:1 in pool p"),
            Arguments.of("DELETE", "/pools/p/backends/not-an-address", null, 400,
                "'not-an-address' is not host:port"),
            Arguments.of("POST", "/pools/p/backends/10.9.9.9:1/drain", null, 404, "no backend 10.9.9.9:1 in pool p"),
            Arguments.of("PUT", "/pools/p/backends/10.9.9.9:1/weight", "{\"weight\": \"x\"}", 400,
                "body needs {\"weight\": <whole number>}"),
            Arguments.of("POST", "/pools/p/backends/10.9.9.9:1/explode", null, 404,
                "no such endpoint: /pools/p/backends/10.9.9.9:1/explode"),
            Arguments.of("GET", "/lookup?listener=t", null, 400, "query parameter 'src' is required"),
            Arguments.of("GET", "/lookup?listener=t&src=nonsense", null, 400, "src: 'nonsense' is not ip:port"),
            Arguments.of("GET", "/lookup?listener=t&src=example.com:80", null, 400,
                "src: 'example.com:80' is not ip:port"),
            Arguments.of("GET", "/lookup?listener=zz&src=1.2.3.4:5", null, 400, "no listener named 'zz'"),
            Arguments.of("POST", "/reload", null, 409, "this node was not started from a config file"),
            Arguments.of("GET", "/pools/nope", null, 404, "no pool named 'nope'"),
            Arguments.of("POST", "/fault/gossip", "{\"loss\": 0.2}", 404,
                "fault injection is off (membership.faultInjection)"));
    }

    @ParameterizedTest(name = "{0} {1} -> {3}")
    @MethodSource("badRequests")
    void badRequestsGetA4xxWithAJsonError(String method, String path, String body, int status, String error)
        throws Exception {
        AdminClient.Response r = raw(method, path, body);
        assertEquals(status, r.status(), r.body());
        JsonNode json = r.json();
        assertTrue(json.isObject(), r.body());
        assertEquals(error, json.path("error").asText());
        assertEquals(200, api.get("/healthz").status(), "the node keeps serving");
    }

    private static AdminClient.Response raw(String method, String path, String body) throws Exception {
        var http = java.net.http.HttpClient.newHttpClient();
        var b = java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://" + TestNodes.admin(node) + path));
        b.method(method, body == null ? java.net.http.HttpRequest.BodyPublishers.noBody()
            : java.net.http.HttpRequest.BodyPublishers.ofString(body));
        var r = http.send(b.build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        return new AdminClient.Response(r.statusCode(), r.body());
    }

    /** A list of backends in one POST is one change: one rebuild; one already there and nothing changes. */
    @Test
    void severalBackendsInOneCallAreOneRebuild() throws Exception {
        long before = node.call(() -> node.pool("p").rebuildCount());
        int size = node.status().pools().get(0).backends().size();
        AdminClient.Response r = api.send("POST", "/pools/p/backends", List.of(Map.of("address", "127.0.0.1:11"),
            Map.of("address", "127.0.0.1:12", "weight", 3), Map.of("address", "127.0.0.1:13")));
        assertEquals(201, r.status(), r.body());
        assertEquals(before + 1, (long) node.call(() -> node.pool("p").rebuildCount()), "one rebuild for three");
        assertEquals(size + 3, node.status().pools().get(0).backends().size());
        AdminClient.Response dup = api.send("POST", "/pools/p/backends", List.of(Map.of("address", "127.0.0.1:14"),
            Map.of("address", "127.0.0.1:11")));
        assertEquals(409, dup.status(), dup.body());
        assertEquals(size + 3, node.status().pools().get(0).backends().size(), "all or nothing");
        assertEquals(400, api.send("POST", "/pools/p/backends", List.of()).status());
        for (String b : List.of("127.0.0.1:11", "127.0.0.1:12", "127.0.0.1:13")) {
            assertEquals(200, api.send("DELETE", "/pools/p/backends/" + AdminClient.segment(b), null).status());
        }
    }

    /**
     * {@code /healthz}, {@code /status} and {@code /lookup} answer from published state, and a change waits on a
     * future, not on the API's event loop: with the control thread held and a change waiting for it, the API still
     * answers at once, and the change lands when the control thread is free.
     */
    @Test
    void healthzAnswersWhileTheControlThreadIsBusy() throws Exception {
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch held = new java.util.concurrent.CountDownLatch(1);
        Thread busy = Thread.ofVirtual().start(() -> {
            try {
                node.call(() -> {
                    held.countDown();
                    return release.await(20, java.util.concurrent.TimeUnit.SECONDS);
                });
            } catch (Exception e) {
                // released
            }
        });
        try {
            assertTrue(held.await(5, java.util.concurrent.TimeUnit.SECONDS), "the control thread is held");
            java.util.concurrent.CompletableFuture<AdminClient.Response> add = java.util.concurrent.CompletableFuture
                .supplyAsync(() -> {
                    try {
                        return api.send("POST", "/pools/p/backends", Map.of("address", "127.0.0.1:21"));
                    } catch (Exception e) {
                        throw new java.util.concurrent.CompletionException(e);
                    }
                });
            Thread.sleep(200);      // the POST is in, waiting for the control thread
            assertTrue(!add.isDone(), "the change waits for the control thread");
            long t0 = System.nanoTime();
            assertEquals(200, api.get("/healthz").status());
            assertEquals(200, api.get("/status").status());
            assertEquals(200, api.get("/pools/p").status());
            assertEquals(200, api.get("/lookup?listener=t&src=10.1.2.3:4000").status());
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms < 2000, "the API took " + ms + " ms while the control thread was busy");
            release.countDown();
            assertEquals(201, add.get(10, java.util.concurrent.TimeUnit.SECONDS).status(), "the change landed");
            assertEquals(200, api.send("DELETE", "/pools/p/backends/127.0.0.1:21", null).status());
        } finally {
            release.countDown();
            busy.join(5000);
        }
    }

    @Test
    void oversizedBodyIs413() throws Exception {
        AdminClient.Response r = raw("POST", "/pools/p/backends", "{\"address\": \"" + "x".repeat(100_000) + "\"}");
        assertEquals(413, r.status());
        assertEquals(200, api.get("/healthz").status());
    }

    @Test
    void garbageBytesDoNotHurtTheNode() throws Exception {
        Random r = new Random(3);
        for (int i = 0; i < 20; i++) {
            try (Socket s = new Socket()) {
                InetSocketAddress a = node.adminAddress();
                s.connect(a, 2000);
                s.setSoTimeout(2000);
                byte[] junk = new byte[1 + r.nextInt(4000)];
                r.nextBytes(junk);
                OutputStream out = s.getOutputStream();
                out.write(junk);
                out.write("\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                InputStream in = s.getInputStream();
                byte[] reply = in.readNBytes(12);
                String head = new String(reply, StandardCharsets.US_ASCII);
                assertTrue(reply.length == 0 || head.startsWith("HTTP/1.1 4"), "rejected or closed: " + head);
            } catch (java.net.SocketException e) {
                // A reset is a fine answer to garbage.
            }
        }
        assertEquals(200, api.get("/healthz").status());
        assertEquals(1, node.status().pools().size());
    }

    @Test
    void backendLifecycleThroughTheApi() throws Exception {
        AdminClient.Response add = api.send("POST", "/pools/p/backends", Map.of("address", "127.0.0.1:1", "weight", 2));
        assertEquals(201, add.status(), add.body());
        assertEquals(409, api.send("POST", "/pools/p/backends", Map.of("address", "127.0.0.1:1")).status());
        String b = "/pools/p/backends/" + AdminClient.segment("127.0.0.1:1");
        assertEquals(200, api.send("PUT", b + "/weight", Map.of("weight", 5)).status());
        assertEquals(200, api.send("POST", b + "/drain", null).status());
        JsonNode pool = api.get("/pools/p").json();
        JsonNode added = null;
        for (JsonNode x : pool.path("backends")) {
            if (x.path("address").asText().equals("127.0.0.1:1")) {
                added = x;
            }
        }
        assertEquals(5, added.path("weight").asInt());
        assertTrue(added.path("draining").asBoolean());
        assertEquals(0, added.path("slots").asInt());
        assertEquals(200, api.send("DELETE", b, null).status());
        assertEquals(404, api.send("DELETE", b, null).status());
    }

    @Test
    void statusLookupAndFlows() throws Exception {
        JsonNode s = api.get("/status").json();
        assertEquals("maglev-v1", s.path("hashAlgorithm").asText());
        assertEquals(2, s.path("listeners").size());
        assertEquals(16, s.path("pools").get(0).path("fingerprint").asText().length());
        JsonNode l = api.get("/lookup?listener=t&src=198.18.0.1:4000").json();
        assertEquals(backend.address(), l.path("backend").asText());
        assertEquals("tcp", l.path("protocol").asText());
        assertTrue(l.path("slot").asInt() >= 0);
        assertTrue(api.get("/flows").json().has("flows"));
        assertEquals(200, api.get("/listeners").status());
        assertEquals(200, api.get("/backends").status());
    }

    @Test
    void metricsExposeEveryStableName() throws Exception {
        api.get("/status");
        String text = api.get("/metrics").body();
        for (MetricName m : MetricName.values()) {
            if (m == MetricName.ERRORS || m.meshOnly() || m.packetOnly()) {
                continue;   // ERRORS: on the first error of a kind; mesh and packet metrics: only there
            }
            assertTrue(m.prometheusSeries().stream().anyMatch(n -> text.contains(n + "{")),
                "missing " + m.prometheusName());
        }
        assertEquals(List.of(), io.l4mesh.node.metrics.Exposition.labelProblems(text),
            "every series carries the labels its metric declares");
    }
}
