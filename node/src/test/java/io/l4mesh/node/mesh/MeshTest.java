package io.l4mesh.node.mesh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.l4mesh.node.testing.Await;
import io.l4mesh.node.testing.MeshNodes;
import io.l4mesh.node.testing.TcpTestServer;
import java.io.DataOutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Three l4mesh processes on loopback forming a mesh: joining, convergence, health rules, failures, security. */
@Tag("slow")
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class MeshTest {
    @TempDir
    Path dir;

    private static String pool(TcpTestServer... servers) {
        StringBuilder b = new StringBuilder("healthCheck: {interval: 200ms, timeout: 100ms, rise: 2, fall: 2}\n");
        b.append("backends:\n");
        for (TcpTestServer s : servers) {
            b.append("  - ").append(s.address()).append('\n');
        }
        return b.toString();
    }

    private static Set<String> fingerprints(List<MeshNodes.Node> nodes) {
        return nodes.stream().map(MeshNodes.Node::fingerprint).collect(Collectors.toSet());
    }

    private static JsonNode backend(MeshNodes.Node n, String address) {
        for (JsonNode b : n.get("/status").path("pools").get(0).path("backends")) {
            if (b.path("address").asText().equals(address)) {
                return b;
            }
        }
        return null;
    }

    @Test
    void convergesAgreesOnHealthAndDropsDeadOrLeavingNodes() throws Exception {
        try (TcpTestServer a = TcpTestServer.named("a"); TcpTestServer b = TcpTestServer.named("b");
             TcpTestServer c = TcpTestServer.named("c"); MeshNodes mesh = new MeshNodes(dir)) {
            int p1 = MeshNodes.freePorts(1);
            int p2 = MeshNodes.freePorts(1);
            int p3 = MeshNodes.freePorts(1);
            MeshNodes.Node n1 = mesh.define("n1", p1, List.of(p2, p3), pool(a, b), MeshNodes.KEY);
            MeshNodes.Node n2 = mesh.define("n2", p2, List.of(p1), pool(a, b), MeshNodes.KEY);
            MeshNodes.Node n3 = mesh.define("n3", p3, List.of(p1), pool(a, b), MeshNodes.KEY);
            // Any order: the seed n1 starts last.
            mesh.start(n3);
            mesh.start(n2);
            mesh.start(n1);
            List<MeshNodes.Node> all = List.of(n1, n2, n3);
            Await.until(Duration.ofSeconds(30), "all see all", () -> all.stream().allMatch(n -> n.members() == 3));
            Await.until(Duration.ofSeconds(10), "one fingerprint", () -> fingerprints(all).size() == 1);

            // A pool change on one node reaches every node: one fingerprint again within a second.
            String before = n1.fingerprint();
            long t0 = System.nanoTime();
            assertEquals(201, n2.api.send("POST", "/pools/p/backends", Map.of("address", c.address())).status());
            Await.until(Duration.ofSeconds(5), "change everywhere", () -> fingerprints(all).size() == 1
                && !n1.fingerprint().equals(before) && !n3.fingerprint().equals(before));
            long convergeMs = (System.nanoTime() - t0) / 1_000_000;
            System.out.printf("mesh: pool change converged on 3 nodes in %d ms%n", convergeMs);
            assertTrue(convergeMs < 1000, "converged in " + convergeMs + " ms");
            assertEquals(3, n3.get("/status").path("pools").get(0).path("backends").size());

            // One node alone cannot reach b: the majority rule keeps b in every table; n1 routes around it.
            n1.api.send("POST", "/fault/health", Map.of("down", List.of("p/" + b.address())));
            Await.until(Duration.ofSeconds(5), "n1 sees b down", () -> backend(n1, b.address()).path("localHealth")
                .asText().equals("down"));
            Thread.sleep(1000);
            assertEquals(1, fingerprints(all).size(), "tables stay identical");
            assertEquals("up", backend(n2, b.address()).path("health").asText(), "one of three is no majority");
            n1.api.send("DELETE", "/fault/health", null);

            // b unreachable from every node: all mark it down and still agree.
            b.close();
            Await.until(Duration.ofSeconds(10), "b down everywhere", () -> all.stream()
                .allMatch(n -> backend(n, b.address()).path("health").asText().equals("down")));
            Await.until(Duration.ofSeconds(5), "one fingerprint", () -> fingerprints(all).size() == 1);
            assertEquals(0, backend(n2, b.address()).path("slots").asInt());

            // kill -9: the others remove n3 within the failure detector's time.
            long k0 = System.nanoTime();
            n3.process.process().destroyForcibly();
            Await.until(Duration.ofSeconds(15), "n3 removed", () -> n1.members() == 2 && n2.members() == 2);
            long killMs = (System.nanoTime() - k0) / 1_000_000;
            // ping 250 ms, timeout 200 ms, suspicion 5 x ceil(log2 3) pings: about 3 s; margin: 2 s more.
            System.out.printf("mesh: kill -9 detected by all in %d ms%n", killMs);
            assertTrue(killMs < 5000, "detected in " + killMs + " ms");

            // SIGTERM: a graceful leave, seen within a gossip round or two.
            long l0 = System.nanoTime();
            n2.process.signal("TERM");
            Await.until(Duration.ofSeconds(5), "n2 left", () -> n1.members() == 1);
            long leaveMs = (System.nanoTime() - l0) / 1_000_000;
            System.out.printf("mesh: SIGTERM leave seen in %d ms%n", leaveMs);
            // One or two gossip rounds (100 ms each), plus the admin API polling: well under 600 ms.
            assertTrue(leaveMs < 600, "left in " + leaveMs + " ms");
            assertEquals(0, n2.process.awaitExit(Duration.ofSeconds(20)));
        }
    }

    @Test
    void partitionHealsRestartCatchesUpAndStrangersStayOut() throws Exception {
        try (TcpTestServer a = TcpTestServer.named("a"); TcpTestServer b = TcpTestServer.named("b");
             TcpTestServer c = TcpTestServer.named("c"); MeshNodes mesh = new MeshNodes(dir)) {
            int p1 = MeshNodes.freePorts(1);
            int p2 = MeshNodes.freePorts(1);
            int p3 = MeshNodes.freePorts(1);
            MeshNodes.Node n1 = mesh.start(mesh.define("n1", p1, List.of(p2, p3), pool(a, b), MeshNodes.KEY));
            MeshNodes.Node n2 = mesh.start(mesh.define("n2", p2, List.of(p1, p3), pool(a, b), MeshNodes.KEY));
            MeshNodes.Node n3 = mesh.start(mesh.define("n3", p3, List.of(p1, p2), pool(a, b), MeshNodes.KEY));
            List<MeshNodes.Node> all = List.of(n1, n2, n3);
            Await.until(Duration.ofSeconds(30), "all see all", () -> all.stream().allMatch(n -> n.members() == 3));

            // Partition {n1, n2} | {n3}; change the pool on the majority side; heal; one view, one fingerprint.
            n1.api.send("POST", "/fault/partition", Map.of("block", List.of(n3.gossip())));
            n2.api.send("POST", "/fault/partition", Map.of("block", List.of(n3.gossip())));
            n3.api.send("POST", "/fault/partition", Map.of("block", List.of(n1.gossip(), n2.gossip())));
            Await.until(Duration.ofSeconds(20), "split", () -> n1.members() == 2 && n3.members() == 1);
            n1.api.send("PUT", "/pools/p/backends/" + a.address() + "/weight", Map.of("weight", 3));
            Thread.sleep(500);
            assertTrue(!n3.fingerprint().equals(n1.fingerprint()), "the cut-off node has not seen the change");
            long h0 = System.nanoTime();
            for (MeshNodes.Node n : all) {
                n.api.send("DELETE", "/fault/partition", null);
            }
            Await.until(Duration.ofSeconds(30), "healed", () -> all.stream().allMatch(n -> n.members() == 3)
                && fingerprints(all).size() == 1);
            System.out.printf("mesh: partition healed to one view and one fingerprint in %d ms%n",
                (System.nanoTime() - h0) / 1_000_000);
            assertEquals(3, backend(n3, a.address()).path("weight").asInt());

            // Restart: n3 stops, the pool changes meanwhile, n3 comes back with its saved state and catches up.
            n3.process.signal("TERM");
            assertEquals(0, n3.process.awaitExit(Duration.ofSeconds(20)));
            assertEquals(201, n1.api.send("POST", "/pools/p/backends", Map.of("address", c.address())).status());
            mesh.start(n3);
            assertTrue(n3.process.stderr().stream().anyMatch(l -> l.contains("event=mesh.state_loaded")),
                "n3 came back with its saved pool");
            try {
                Await.until(Duration.ofSeconds(30), "n3 caught up", () -> backend(n3, c.address()) != null
                    && fingerprints(all).size() == 1 && n1.members() == 3);
            } catch (AssertionError e) {
                System.out.println("DIAG n1 members " + n1.get("/members"));
                System.out.println("DIAG n3 members " + n3.get("/members"));
                System.out.println("DIAG n3 status " + n3.get("/status"));
                System.out.println("DIAG n3 log " + String.join("\n", n3.process.stderr()));
                throw e;
            }

            // A node with the wrong key joins nobody; garbage on the gossip port is counted and harmless.
            MeshNodes.Node stranger = mesh.start(mesh.define("x", MeshNodes.freePorts(1), List.of(p1), pool(a),
                MeshNodes.KEY.replace('6', '7')));
            Random r = new Random(1);
            for (int i = 0; i < 20; i++) {
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), p1), 2000);
                    byte[] junk = new byte[200 + r.nextInt(2000)];
                    r.nextBytes(junk);
                    DataOutputStream out = new DataOutputStream(s.getOutputStream());
                    out.writeInt(junk.length);
                    out.write(junk);
                    out.flush();
                }
            }
            Await.until(Duration.ofSeconds(15), "refusals counted", () -> {
                String m;
                try {
                    m = n1.api.get("/metrics").body();
                } catch (Exception e) {
                    return false;
                }
                return m.contains("l4mesh_gossip_rejected_total{node=\"n1\",reason=\"bad_mac\"}")
                    && !m.contains("l4mesh_gossip_rejected_total{node=\"n1\",reason=\"bad_mac\"} 0.0")
                    && !m.contains("l4mesh_gossip_rejected_total{node=\"n1\",reason=\"malformed\"} 0.0");
            });
            assertEquals(List.of(), io.l4mesh.node.metrics.Exposition.labelProblems(n1.api.get("/metrics").body()),
                "every mesh series carries the labels its metric declares");
            assertEquals(3, n1.members(), "the stranger is not a member");
            assertEquals(1, stranger.members(), "the stranger sees nobody");
            assertEquals(1, fingerprints(all).size());
        }
    }

    /** A node's fingerprint of pool {@code pool}. */
    private static String fingerprint(MeshNodes.Node n, String pool) {
        for (JsonNode p : n.get("/status").path("pools")) {
            if (p.path("name").asText().equals(pool)) {
                return p.path("fingerprint").asText();
            }
        }
        return "";
    }

    /** A pool's backends on a node. */
    private static int backends(MeshNodes.Node n, String pool) {
        for (JsonNode p : n.get("/status").path("pools")) {
            if (p.path("name").asText().equals(pool)) {
                return p.path("backends").size();
            }
        }
        return -1;
    }

    /** A pool's rebuild counter on a node, from its metrics. */
    private static double rebuilds(MeshNodes.Node n, String pool) throws Exception {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("l4mesh_pool_rebuilds_total\\{[^}]*pool=\""
            + pool + "\"[^}]*} ([0-9.E]+)").matcher(n.api.get("/metrics").body());
        return m.find() ? Double.parseDouble(m.group(1)) : -1;
    }

    /**
     * Several backends added in one API call are one change on every node: one table rebuild each, one fingerprint.
     * A node that cannot apply what the mesh agreed (here a pool it does not have) says so in /members and its
     * metrics, and keeps converging on the rest.
     */
    @Test
    void aBatchIsOneRebuildPerNodeAndAChangeANodeCannotApplyIsShown() throws Exception {
        try (TcpTestServer a = TcpTestServer.named("a"); TcpTestServer b = TcpTestServer.named("b");
             TcpTestServer c = TcpTestServer.named("c"); TcpTestServer d = TcpTestServer.named("d");
             MeshNodes mesh = new MeshNodes(dir)) {
            int p1 = MeshNodes.freePorts(1);
            int p2 = MeshNodes.freePorts(1);
            MeshNodes.Node n1 = mesh.start(mesh.define("n1", p1, List.of(p2), pool(a), MeshNodes.KEY,
                "q:\n" + pool(a).indent(2)));
            MeshNodes.Node n2 = mesh.start(mesh.define("n2", p2, List.of(p1), pool(a), MeshNodes.KEY));
            List<MeshNodes.Node> all = List.of(n1, n2);
            Await.until(Duration.ofSeconds(30), "both see both", () -> all.stream().allMatch(n -> n.members() == 2));
            Await.until(Duration.ofSeconds(10), "n2 shows what it could not apply", () -> n2.get("/members")
                .path("divergence").has("q/" + a.address()));
            assertTrue(n2.get("/members").path("divergence").path("q/" + a.address()).asText().contains("no pool"),
                n2.get("/members").toString());
            assertEquals(0, n1.get("/members").path("divergence").size(), "n1 applied everything");
            assertTrue(n2.api.get("/metrics").body().contains("l4mesh_mesh_divergent{node=\"n2\"} 1.0"));

            double before1 = rebuilds(n1, "p");
            double before2 = rebuilds(n2, "p");
            String fp = fingerprint(n2, "p");
            var r = n1.api.send("POST", "/pools/p/backends", List.of(Map.of("address", b.address()),
                Map.of("address", c.address()), Map.of("address", d.address(), "weight", 2)));
            assertEquals(201, r.status(), r.body());
            Await.until(Duration.ofSeconds(5), "the batch everywhere", () -> fingerprint(n1, "p")
                .equals(fingerprint(n2, "p")) && !fingerprint(n2, "p").equals(fp));
            Thread.sleep(1000);     // probes run: the backends stay up, so nothing else rebuilds
            assertEquals(before1 + 1, rebuilds(n1, "p"), "one rebuild on the node that took the call");
            assertEquals(before2 + 1, rebuilds(n2, "p"), "one rebuild on the node that heard it");
            assertEquals(4, backends(n2, "p"));

            // all or nothing: a list with one backend already there changes nothing
            var dup = n1.api.send("POST", "/pools/p/backends", List.of(Map.of("address", "127.0.0.1:9"),
                Map.of("address", b.address())));
            assertEquals(409, dup.status(), dup.body());
            assertEquals(4, backends(n1, "p"));
        }
    }
}
