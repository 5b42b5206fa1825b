package io.l4mesh.node.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.l4mesh.node.testing.Await;
import io.l4mesh.node.testing.Browser;
import io.l4mesh.node.testing.Clients;
import io.l4mesh.node.testing.MeshNodes;
import io.l4mesh.node.testing.TcpTestServer;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The live mesh page ({@code GET /ui}) in headless Chromium, against three node processes: it loads with no console
 * message, shows the three nodes serving with their load and a chart line each, the health matrix of the pool as
 * every node sees it, and a backend going down within a few seconds; it saves a screenshot of each moment
 * ({@code target/mesh-page-*.png}).
 */
@Tag("slow")
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class MeshPageTest {
    @TempDir
    Path dir;

    private static final String COUNT_NODES = "return document.querySelectorAll('#nodes tbody tr[data-state=serving]')"
        + ".length;";

    @Test
    void thePageShowsTheMeshAndABackendGoingDown() throws Exception {
        assumeTrue(Browser.missing() == null, Browser.missing());
        try (TcpTestServer a = TcpTestServer.named("a"); TcpTestServer b = TcpTestServer.named("b");
             MeshNodes mesh = new MeshNodes(dir)) {
            int p = MeshNodes.freePorts(3);
            String pool = "healthCheck: {interval: 200ms, timeout: 100ms, rise: 2, fall: 2}\nbackends: [" + a.address()
                + ", " + b.address() + "]\n";
            List<MeshNodes.Node> all = List.of(mesh.define("n1", p, List.of(p + 1, p + 2), pool, MeshNodes.KEY),
                mesh.define("n2", p + 1, List.of(p), pool, MeshNodes.KEY),
                mesh.define("n3", p + 2, List.of(p), pool, MeshNodes.KEY));
            for (MeshNodes.Node n : all) {
                mesh.start(n);
            }
            MeshNodes.Node n1 = all.getFirst();
            Await.until(Duration.ofSeconds(30), "n1 hears every node's load", () -> {
                JsonNode nodes = n1.get("/mesh").path("nodes");
                int heard = 0;
                for (JsonNode n : nodes) {
                    heard += n.path("self").asBoolean() || n.path("heardMsAgo").asLong(-1) >= 0 ? 1 : 0;
                }
                return heard == 3;
            });
            InetSocketAddress listener = listener(n1);
            Thread traffic = Thread.ofVirtual().start(() -> {
                for (int i = 0; i < 600 && !Thread.currentThread().isInterrupted(); i++) {   // bounded: 60 s at most
                    try {
                        Clients.ask(listener, "hello " + i);
                        Thread.sleep(100);
                    } catch (InterruptedException e) {
                        return;
                    } catch (Exception e) {
                        // a connection during the backend's failure may fail: the page shows it, the test goes on
                    }
                }
            });
            try (Browser browser = new Browser(MeshNodes.freePorts(1), Files.createDirectories(dir.resolve("profile")),
                dir.resolve("chromedriver.log"))) {
                browser.open("http://" + n1.admin + "/ui");
                Await.until(Duration.ofSeconds(20), "the page shows three serving nodes",
                    () -> run(browser, COUNT_NODES).asInt() == 3);
                Await.until(Duration.ofSeconds(20), "a chart line for the node with traffic",
                    () -> run(browser, "return document.querySelectorAll('#chart-flows path[data-node=n1]').length;")
                        .asInt() == 1);
                assertEquals(2, run(browser, "return document.querySelectorAll('table.matrix tbody tr').length;")
                    .asInt(), "a row per backend");
                assertEquals(6, run(browser, "return document.querySelectorAll('table.matrix td[data-seen=up]')"
                    .concat(".length;")).asInt(), "each backend up as each of the three nodes sees it");
                assertTrue(run(browser, "return document.querySelector('#nodes tbody tr[data-node=n1]')"
                    .concat(".textContent;")).asText().contains("this node"), "the node it is served from");
                browser.screenshot(Path.of("target", "mesh-page-healthy.png"));

                long t0 = System.nanoTime();
                b.close();
                String row = "document.querySelector('table.matrix tr[data-backend=\"" + b.address() + "\"]')";
                Await.until(Duration.ofSeconds(10), "the page shows b down, as every node sees it",
                    () -> "down".equals(run(browser, "var r = " + row + "; return r && r.dataset.verdict;").asText())
                        && run(browser, "var r = " + row + "; return r.querySelectorAll('td[data-seen=down]').length;")
                        .asInt() == 3);
                long ms = (System.nanoTime() - t0) / 1_000_000;
                System.out.printf("mesh page: backend down on the page %d ms after it closed%n", ms);
                browser.screenshot(Path.of("target", "mesh-page-backend-down.png"));
                assertTrue(Files.size(Path.of("target", "mesh-page-backend-down.png")) > 10_000, "a real screenshot");
                assertEquals("", run(browser, "return document.getElementById('errors').textContent;").asText(),
                    "no script error on the page");
                List<String> console = browser.console();
                assertTrue(console.isEmpty(), "console messages: " + console);
            } finally {
                traffic.interrupt();
            }
        }
    }

    private static JsonNode run(Browser browser, String script) {
        try {
            return browser.run(script);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static InetSocketAddress listener(MeshNodes.Node n) {
        String bind = n.get("/status").path("listeners").get(0).path("bind").asText();
        int colon = bind.lastIndexOf(':');
        return new InetSocketAddress(bind.substring(0, colon), Integer.parseInt(bind.substring(colon + 1)));
    }
}
