package io.l4mesh.node.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.l4mesh.node.admin.AdminClient;
import io.l4mesh.node.testing.Await;
import io.l4mesh.node.testing.Clients;
import io.l4mesh.node.testing.MeshNodes;
import io.l4mesh.node.testing.NodeProcess;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The README's main command: {@code l4mesh demo} brings up a 3-node mesh that serves, and Ctrl-C stops it all. */
@Tag("slow")
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class DemoTest {
    @Test
    void demoRunsAMeshThatServesAndStopsEverything() throws Exception {
        int port = MeshNodes.freePorts(3);
        int admin = MeshNodes.freePorts(3);
        int gossip = MeshNodes.freePorts(3);
        int backends = MeshNodes.freePorts(3);
        try (NodeProcess demo = NodeProcess.start("demo", "--port", Integer.toString(port), "--admin-port",
            Integer.toString(admin), "--gossip-port", Integer.toString(gossip), "--backend-port",
            Integer.toString(backends))) {
            try {
                Await.until(Duration.ofSeconds(120), "the guide", () -> !demo.process().isAlive()
                    || demo.stdout().stream().anyMatch(l -> l.contains("Ctrl-C stops every node and backend")));
                assertTrue(demo.process().isAlive(), "the demo exited");
            } catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + "; demo said: " + demo.stdout() + " " + demo.stderr(), e);
            }
            String out = String.join("\n", demo.stdout());
            Matcher m = Pattern.compile("node-1\\s+\\d+\\s+(\\S+):(\\d+)").matcher(out);
            assertTrue(m.find(), out);
            InetSocketAddress node1 = new InetSocketAddress(m.group(1), Integer.parseInt(m.group(2)));
            AdminClient api = new AdminClient("127.0.0.1:" + admin);
            Await.until(Duration.ofSeconds(30), "three members", () -> {
                try {
                    return api.get("/members").json().path("members").size() == 3;
                } catch (Exception e) {
                    return false;
                }
            });
            Set<String> answered = new HashSet<>();
            for (int i = 0; i < 30; i++) {
                answered.add(Clients.ask(node1, "hello"));
            }
            assertEquals(Set.of("backend-1", "backend-2", "backend-3"), answered);
            Set<Long> children = new HashSet<>();
            demo.process().children().forEach(p -> children.add(p.pid()));
            assertEquals(6, children.size(), "three nodes and three backends");

            demo.signal("INT");
            assertEquals(0, demo.awaitExit(Duration.ofSeconds(60)));
            for (long pid : children) {
                assertTrue(ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true), "child " + pid + " stopped");
            }
        }
    }
}
