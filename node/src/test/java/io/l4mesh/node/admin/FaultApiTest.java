package io.l4mesh.node.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import io.l4mesh.node.Node;
import io.l4mesh.node.testing.Await;
import io.l4mesh.node.testing.MeshNodes;
import io.l4mesh.node.testing.TcpTestServer;
import io.l4mesh.node.testing.TestNodes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The fault seams through the admin API of a node with {@code membership.faultInjection: true}. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class FaultApiTest {
    @TempDir
    static Path dir;
    static TcpTestServer backend;
    static Node node;
    static AdminClient api;

    @BeforeAll
    static void start() throws Exception {
        backend = TcpTestServer.named("a");
        Path key = dir.resolve("key");
        Files.writeString(key, MeshNodes.KEY);
        node = TestNodes.start("""
            node: {id: f1, dataDir: %s}
            admin: {bind: 127.0.0.1:0}
            listeners: [{name: t, bind: 127.0.0.1:0, protocol: tcp, pool: p}]
            pools:
              p:
                backends: [%s]
                healthCheck: {interval: 100ms, timeout: 100ms, rise: 1, fall: 1}
            membership: {bind: 127.0.0.1:%d, keyFile: %s, faultInjection: true}
            """.formatted(dir.resolve("data"), backend.address(), MeshNodes.freePorts(1), key));
        api = new AdminClient(TestNodes.admin(node));
    }

    @AfterAll
    static void stop() throws Exception {
        node.close();
        backend.close();
    }

    static Stream<Arguments> badFaultRequests() {
        return Stream.of(
            Arguments.of("POST", "/fault/gossip", "{\"loss\": 1.5}", 400, "body needs {\"loss\": <share 0..1>}"),
            Arguments.of("POST", "/fault/gossip", "{\"loss\": 0.1, \"delayMs\": 99999}", 400,
                "delay 99999 ms is not in 0..10000"),
            Arguments.of("POST", "/fault/gossip", "{\"loss\": 0.1, \"delayMs\": \"x\"}", 400,
                "delayMs must be a whole number"),
            Arguments.of("POST", "/fault/sync", "{}", 400, "body needs {\"loss\": <share 0..1>}"),
            Arguments.of("POST", "/fault/partition", "{\"block\": \"x\"}", 400,
                "body needs {\"block\": [\"host:port\", ...]}"),
            Arguments.of("POST", "/fault/partition", "{\"block\": [\"nope\"]}", 400, "'nope' is not host:port"),
            Arguments.of("POST", "/fault/partition", "{\"block\": [7]}", 400,
                "block: each element is a \"host:port\" string"),
            Arguments.of("POST", "/fault/health", "{\"down\": [\"127.0.0.1:1\"]}", 400,
                "'127.0.0.1:1' is not pool/host:port"),
            Arguments.of("PUT", "/fault/sync", "{\"loss\": 0.1}", 405, "PUT not allowed here; use POST"),
            Arguments.of("POST", "/fault/explode", "{}", 404, "no such endpoint: /fault/explode"));
    }

    @ParameterizedTest(name = "{0} {1} -> {3}")
    @MethodSource("badFaultRequests")
    void badFaultRequestsGetA4xxAndChangeNothing(String method, String path, String body, int status, String error)
        throws Exception {
        AdminClient.Response r = api.send(method, path, body == null ? null : new com.fasterxml.jackson.databind
            .ObjectMapper().readTree(body));
        assertEquals(status, r.status(), r.body());
        assertEquals(error, r.json().path("error").asText());
        JsonNode state = api.get("/fault").json();
        assertEquals(0.0, state.path("gossipLoss").asDouble());
        assertEquals(0, state.path("partition").size());
    }

    @Test
    void eachSeamIsSetShownAndCleared() throws Exception {
        assertEquals(200, api.send("POST", "/fault/gossip", Map.of("loss", 0.25, "delayMs", 5)).status());
        assertEquals(200, api.send("POST", "/fault/sync", Map.of("loss", 0.2)).status());
        assertEquals(200, api.send("POST", "/fault/partition", Map.of("block", List.of("127.0.0.1:7946"))).status());
        assertEquals(200, api.send("POST", "/fault/health", Map.of("down", List.of("p/" + backend.address())))
            .status());
        JsonNode s = api.get("/fault").json();
        assertEquals(0.25, s.path("gossipLoss").asDouble());
        assertEquals(5, s.path("gossipDelayMs").asLong());
        assertEquals(0.2, s.path("syncLoss").asDouble());
        assertEquals("127.0.0.1:7946", s.path("partition").get(0).asText());
        assertEquals("p/" + backend.address(), s.path("healthDown").get(0).asText());
        // the health seam is real: this node's probes of the backend fail and it goes down here
        Await.until(Duration.ofSeconds(10), "backend down by the health seam", () -> localHealth().equals("down"));

        assertEquals(200, api.send("DELETE", "/fault/gossip", null).status());
        assertEquals(0.0, api.get("/fault").json().path("gossipLoss").asDouble());
        assertEquals(0.2, api.get("/fault").json().path("syncLoss").asDouble(), "the other seams stay");
        assertEquals(200, api.send("DELETE", "/fault", null).status());
        s = api.get("/fault").json();
        assertEquals(0.0, s.path("syncLoss").asDouble());
        assertEquals(0, s.path("partition").size());
        assertEquals(0, s.path("healthDown").size());
        Await.until(Duration.ofSeconds(10), "backend up again", () -> localHealth().equals("up"));
    }

    private static String localHealth() {
        try {
            return api.get("/status").json().path("pools").get(0).path("backends").get(0).path("localHealth")
                .asText();
        } catch (Exception e) {
            return "?";
        }
    }
}
