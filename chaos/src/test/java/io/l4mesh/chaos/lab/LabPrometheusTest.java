package io.l4mesh.chaos.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.l4mesh.node.cli.L4meshCli;
import io.l4mesh.node.cli.PrometheusSidecar;
import io.l4mesh.node.metrics.DashboardQueries;
import io.l4mesh.node.packet.NetNamespace;
import io.l4mesh.node.testing.Await;
import io.l4mesh.node.testing.Clients;
import io.l4mesh.node.testing.MeshNodes;
import io.l4mesh.node.testing.PrometheusApi;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code l4mesh lab up --prometheus} against a real Prometheus: three packet-mode nodes with flow sync behind the
 * router, Prometheus on the host scraping them through the admin relay, long-lived connections through the VIP;
 * every rule evaluates, every dashboard panel that reads packet-mode metrics has data (the demo's test covers the
 * others), the flows are counted and replicated, and a killed backend makes {@code L4meshBackendDown} go pending.
 */
@Tag("slow")
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class LabPrometheusTest {
    @TempDir
    Path dir;

    private static int nextHops(Lab lab) {
        try {
            return lab.vipNextHops().size();
        } catch (Exception e) {
            return -1;
        }
    }

    @Test
    void prometheusSeesThePacketModeLab() throws Exception {
        LabTest.assumeLab();
        assumeTrue(L4meshCli.onPath("prometheus"), "prometheus is not installed (Debian package prometheus)");
        Lab lab = new Lab(dir);
        int prom = MeshNodes.freePorts(1);
        int adminBase = MeshNodes.freePorts(4) - 1;
        List<Socket> open = new ArrayList<>();
        try {
            Lab.State s = lab.up(new Lab.Options(3, 3, 1, 3, true, 0, false), Lab.selfCommand());
            String guide = LabCommand.monitor(lab, s, PrometheusSidecar.find("--prometheus"), prom, adminBase);
            assertTrue(guide != null && guide.contains("Prometheus: http://127.0.0.1:" + prom), "guide: " + guide);
            PrometheusApi api = new PrometheusApi(prom);
            Await.until(Duration.ofSeconds(60), "Prometheus scrapes three nodes through the relay",
                () -> api.value("sum(up{job=\"l4mesh\"})").equals("3"));
            Await.until(Duration.ofSeconds(60), "three nodes announce the VIP and the router routes to each",
                () -> api.value("sum(l4mesh_vip_announced{listener=\"vip\"})").equals("3")
                    && nextHops(lab) == 3);

            // 60 long-lived connections through the router's ECMP, each answered once
            NetNamespace.call(Lab.clientNamespace(1), () -> {
                for (int i = 0; i < 60; i++) {
                    Socket c = new Socket();
                    open.add(c);
                    c.setSoTimeout(5000);
                    c.connect(new InetSocketAddress(Lab.VIP, Lab.PORT), 5000);
                    Clients.askOn(c, "hello " + i);
                }
                return null;
            });
            Await.until(Duration.ofSeconds(30), "the open flows are scraped as flows carried",
                () -> api.query("sum(l4mesh_connections_active{listener=\"vip\"}) >= 60").size() == 1);
            Await.until(Duration.ofSeconds(30), "flows are created and replicated to the peers",
                () -> api.query("sum(l4mesh_flows_total{event=\"created\"}) >= 60").size() == 1
                    && api.query("sum(l4mesh_flowsync_lag_seconds_count) >= 60").size() == 1);
            assertEquals(1, api.query("histogram_quantile(0.99, sum by (le) "
                + "(rate(l4mesh_flowsync_lag_seconds_bucket[5m]))) < 1").size(), "replication lag p99 under a second");
            try {
                Await.until(Duration.ofSeconds(30), "flow-table utilisation on every node",
                    () -> api.query("l4mesh:flow_table:utilisation{listener=\"vip\"} > 0").size() == 3);
            } catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + "; entries: "
                    + api.query("l4mesh_flow_table_entries{listener=\"vip\"}") + "; next hops: " + lab.vipNextHops(),
                    e);
            }

            String metrics = new io.l4mesh.node.admin.AdminClient("127.0.0.1:" + (adminBase + 1)).get("/metrics")
                .body();
            assertTrue(metrics.contains("l4mesh_flowsync_entries_total"), "node-1's metrics through the relay");
            assertEquals(List.of(), io.l4mesh.node.metrics.Exposition.labelProblems(metrics),
                "every packet-mode and flow-sync series carries the labels its metric declares");

            int[] rules = {0};
            List<String> bad = api.badRules(rules);
            assertTrue(rules[0] > 15, "the shipped rules are loaded: " + rules[0]);
            assertTrue(bad.isEmpty(), "rules that fail to evaluate: " + bad);
            PrometheusApi.Panels panels = api.panels(DashboardQueries.dir(), true);
            assertTrue(panels.refused().isEmpty(), "queries Prometheus refuses: " + panels.refused());
            assertTrue(panels.empty().isEmpty(), "packet-mode panels without data: " + panels.empty());
            System.out.printf("lab prometheus: %d panel queries valid, every packet-mode one with data%n",
                panels.queries());

            // kill backend-1's service: probes through the tunnel fail, every node marks it down, the alert pends
            ProcessHandle.of(lab.pid("backend-1")).orElseThrow().destroyForcibly();
            Await.until(Duration.ofSeconds(60), "L4meshBackendDown pending or firing for backend-1", () -> {
                for (JsonNode a : api.get("/api/v1/alerts").path("data").path("alerts")) {
                    if (a.path("labels").path("alertname").asText().equals("L4meshBackendDown")
                        && a.path("labels").path("backend").asText().equals(Lab.backendId(1))) {
                        return true;
                    }
                }
                return false;
            });
        } catch (Throwable t) {
            LabTest.keepLogs(lab, "LabPrometheusTest");
            throw t;
        } finally {
            for (Socket c : open) {
                c.close();
            }
            lab.down();
        }
    }
}
