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
import io.l4mesh.node.testing.PrometheusApi;
import io.l4mesh.node.metrics.DashboardQueries;
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
 * without errors, the SLIs and latency histograms return data under traffic, every dashboard panel that does not
 * need packet mode has data, and a killed backend makes {@code L4meshBackendDown} go pending.
 */
@Tag("slow")
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class DemoPrometheusTest {
    private static String cmdline(long pid) {
        try {
            return new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline")),
                StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            return "";
        }
    }

    /** How many rules dashboards/l4mesh-alerts.yml ships. */
    private static int shippedRules() throws java.io.IOException {
        int n = 0;
        for (JsonNode g : new com.fasterxml.jackson.dataformat.yaml.YAMLMapper()
            .readTree(DashboardQueries.dir().resolve("l4mesh-alerts.yml").toFile()).path("groups")) {
            n += g.path("rules").size();
        }
        return n;
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

            PrometheusApi api = new PrometheusApi(prom);
            Await.until(Duration.ofSeconds(60), "Prometheus scrapes three nodes",
                () -> api.value("sum(up{job=\"l4mesh\"})").equals("3"));
            int[] rules = {0};
            List<String> bad = api.badRules(rules);
            assertEquals(shippedRules(), rules[0], "every shipped rule is loaded");
            assertTrue(bad.isEmpty(), "rules that fail to evaluate: " + bad);

            // a pool change on node-1, for the control plane's convergence histogram
            assertEquals(0, L4meshCli.commandLine().execute("backend", "weight", "demo", "127.0.0.1:" + (backends + 2),
                "2", "--admin", "127.0.0.1:" + admin), "backend weight");

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
                return api.query("l4mesh:connection_errors:ratio_rate5m{listener=\"tcp-demo\"} >= 0").size() == 1;
            });
            assertEquals("0", api.value("l4mesh:connection_errors:ratio_rate5m{listener=\"tcp-demo\"}"),
                "no failed connections");
            assertEquals("0", api.value("l4mesh:connection_first_attempt_errors:ratio_rate5m{listener=\"tcp-demo\"}"),
                "none needed a retry");
            for (String h : List.of("l4mesh_backend_connect_time_seconds", "l4mesh_backend_first_byte_time_seconds",
                "l4mesh_health_probe_time_seconds")) {
                assertEquals(1, api.query("histogram_quantile(0.99, sum by (le) (rate(" + h + "_bucket[5m]))) < 1")
                    .size(), h + ": the histogram has data, p99 under 1 s on loopback");
            }
            assertEquals(1, api.query("l4mesh:first_byte_seconds:p95_rate5m{pool=\"demo\"} < 0.02").size(),
                "time to first byte p95 within the SLI's 20 ms on loopback");
            Await.until(Duration.ofSeconds(30), "the pool change's convergence is scraped",
                () -> api.query("sum(l4mesh_mesh_convergence_seconds_count) > 0").size() == 1);
            assertEquals("1", api.value("l4mesh:pool_healthy:fraction{pool=\"demo\"}"), "every backend healthy");
            // each node's agreement gauge as last scraped: one scraped just before the change reached it lags a scrape
            Await.until(Duration.ofSeconds(30), "three nodes agree on the table, as scraped",
                () -> api.query("l4mesh_mesh_fingerprint_agreement{pool=\"demo\"} == 1").size() == 3);

            // every panel of the dashboards: valid PromQL; every one that does not need packet mode has data
            PrometheusApi.Panels panels = api.panels(DashboardQueries.dir(), false);
            assertTrue(panels.queries() > 60, "the dashboards' queries: " + panels.queries());
            assertTrue(panels.refused().isEmpty(), "queries Prometheus refuses: " + panels.refused());
            assertTrue(panels.empty().isEmpty(), "panels without data under traffic: " + panels.empty());

            // kill backend-1: the mesh marks it down, and the alert goes pending (its for: 1m then fires)
            ProcessHandle backend1 = demo.process().children()
                .filter(p -> cmdline(p.pid()).contains("\0--name\0backend-1\0"))
                .findFirst().orElseThrow();
            backend1.destroyForcibly();
            Await.until(Duration.ofSeconds(60), "L4meshBackendDown pending or firing for backend-1", () -> {
                for (JsonNode a : api.get("/api/v1/alerts").path("data").path("alerts")) {
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
