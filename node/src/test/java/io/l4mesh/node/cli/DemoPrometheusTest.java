package io.l4mesh.node.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.l4mesh.node.testing.Await;
import io.l4mesh.node.testing.Clients;
import io.l4mesh.node.testing.MeshNodes;
import io.l4mesh.node.testing.NodeProcess;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code l4mesh demo --prometheus} against a real Prometheus: it scrapes the three nodes, loads the shipped rules
 * without errors, the SLI and health queries return data under traffic, and a killed backend makes
 * {@code L4meshBackendDown} go pending.
 */
@Tag("slow")
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class DemoPrometheusTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private static JsonNode api(int port, String path) {
        try {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
            return JSON.readTree(r.body());
        } catch (Exception e) {
            return JSON.createObjectNode();
        }
    }

    private static String cmdline(long pid) {
        try {
            return new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline")),
                StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            return "";
        }
    }

    private static JsonNode query(int port, String promql) {
        return api(port, "/api/v1/query?query=" + URLEncoder.encode(promql, StandardCharsets.UTF_8))
            .path("data").path("result");
    }

    @Test
    void prometheusScrapesTheDemoAndEvaluatesTheShippedRules() throws Exception {
        assumeTrue(L4meshCli.onPath("prometheus"), "prometheus is not installed (Debian package prometheus); .ci/run installs it");
        int port = MeshNodes.freePorts(3);
        int admin = MeshNodes.freePorts(3);
        int gossip = MeshNodes.freePorts(3);
        int backends = MeshNodes.freePorts(3);
        int prom = MeshNodes.freePorts(1);
        try (NodeProcess demo = NodeProcess.start("demo", "--port", Integer.toString(port), "--admin-port",
            Integer.toString(admin), "--gossip-port", Integer.toString(gossip), "--backend-port",
            Integer.toString(backends), "--prometheus", "--prometheus-port", Integer.toString(prom))) {
            try {
                Await.until(Duration.ofSeconds(120), "the guide", () -> !demo.process().isAlive()
                    || demo.stdout().stream().anyMatch(l -> l.startsWith("Prometheus: http://127.0.0.1:" + prom)));
                assertTrue(demo.process().isAlive(), "the demo exited");
            } catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + "; demo said: " + demo.stdout() + " " + demo.stderr(), e);
            }
            String out = String.join("\n", demo.stdout());
            Matcher m = Pattern.compile("node-1\\s+\\d+\\s+(\\S+):(\\d+)").matcher(out);
            assertTrue(m.find(), out);
            InetSocketAddress node1 = new InetSocketAddress(m.group(1), Integer.parseInt(m.group(2)));

            Await.until(Duration.ofSeconds(60), "Prometheus scrapes three nodes",
                () -> query(prom, "sum(up{job=\"l4mesh\"})").path(0).path("value").path(1).asText().equals("3"));
            JsonNode groups = api(prom, "/api/v1/rules").path("data").path("groups");
            List<String> bad = new ArrayList<>();
            int rules = 0;
            for (JsonNode g : groups) {
                for (JsonNode r : g.path("rules")) {
                    rules++;
                    if (!r.path("health").asText().equals("ok") && !r.path("health").asText().equals("unknown")) {
                        bad.add(r.path("name").asText() + ": " + r.path("lastError").asText());
                    }
                }
            }
            assertEquals(15, rules, "every shipped rule is loaded");
            assertTrue(bad.isEmpty(), "rules that fail to evaluate: " + bad);

            // traffic until the SLI has data (two scrapes of a moving counter)
            Await.until(Duration.ofSeconds(60), "the connection SLI has data", () -> {
                for (int i = 0; i < 5; i++) {
                    try {
                        Clients.ask(node1, "hello");
                    } catch (Exception e) {
                        return false;
                    }
                }
                // NaN (0/0) until two scrapes have seen the counter move; NaN >= 0 is false
                return query(prom, "l4mesh:connection_errors:ratio_rate5m{listener=\"tcp-demo\"} >= 0").size() == 1;
            });
            assertEquals("0", query(prom, "l4mesh:connection_errors:ratio_rate5m{listener=\"tcp-demo\"}")
                .path(0).path("value").path(1).asText(), "no failed connections");
            assertEquals(1, query(prom, "sum(l4mesh_backend_connect_time_seconds_count) > 0").size(),
                "connect times land in the histogram");
            assertEquals(1, query(prom, "histogram_quantile(0.99, sum by (le) "
                + "(rate(l4mesh_backend_connect_time_seconds_bucket[5m]))) < 1").size(), "p99 connect time on loopback");
            assertEquals("1", query(prom, "l4mesh:pool_healthy:fraction{pool=\"demo\"}").path(0).path("value")
                .path(1).asText(), "every backend healthy");
            assertEquals(3, query(prom, "l4mesh_mesh_fingerprint_agreement{pool=\"demo\"} == 1").size(),
                "three nodes agree on the table");

            // every panel of the dashboards: valid PromQL; those of proxy mode and the mesh return data here
            List<String> failed = new ArrayList<>();
            List<String> empty = new ArrayList<>();
            int panels = 0;
            for (String file : List.of("l4mesh-proxy.json", "l4mesh-mesh.json", "l4mesh-flows.json")) {
                JsonNode dash = JSON.readTree(Path.of("..", "dashboards", file).toFile());
                for (JsonNode panel : dash.path("panels")) {
                    for (JsonNode t : panel.path("targets")) {
                        panels++;
                        String expr = t.path("expr").asText().replace("$node", ".*");
                        JsonNode r = api(prom, "/api/v1/query?query=" + URLEncoder.encode(expr, StandardCharsets.UTF_8));
                        if (!r.path("status").asText().equals("success")) {
                            failed.add(file + " '" + panel.path("title").asText() + "': " + r.path("error").asText());
                        } else if (!file.equals("l4mesh-flows.json") && r.path("data").path("result").isEmpty()) {
                            empty.add(file + " '" + panel.path("title").asText() + "': " + expr);
                        }
                    }
                }
            }
            assertTrue(panels > 30, "the dashboards' queries: " + panels);
            assertTrue(failed.isEmpty(), "queries Prometheus refuses: " + failed);
            assertTrue(empty.isEmpty(), "proxy and mesh panels without data under traffic: " + empty);

            // kill backend-1: the mesh marks it down, and the alert goes pending (its for: 1m then fires)
            ProcessHandle backend1 = demo.process().children()
                .filter(p -> cmdline(p.pid()).contains("\0--name\0backend-1\0"))
                .findFirst().orElseThrow();
            backend1.destroyForcibly();
            Await.until(Duration.ofSeconds(60), "L4meshBackendDown pending or firing for backend-1", () -> {
                for (JsonNode a : api(prom, "/api/v1/alerts").path("data").path("alerts")) {
                    if (a.path("labels").path("alertname").asText().equals("L4meshBackendDown")
                        && a.path("labels").path("backend").asText().equals("127.0.0.1:" + backends)) {
                        return true;
                    }
                }
                return false;
            });
            demo.signal("INT");
            assertEquals(0, demo.awaitExit(Duration.ofSeconds(60)));
        }
    }
}
