package io.l4mesh.node.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.l4mesh.node.Node;
import io.l4mesh.node.admin.NodeStatus;
import io.l4mesh.node.config.ConfigLoader;
import io.l4mesh.node.testing.Clients;
import io.l4mesh.node.testing.TcpTestServer;
import io.l4mesh.node.testing.TestNodes;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Reloading the config file: the difference is applied, open connections survive, a bad file changes nothing. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ReloadTest {
    @TempDir
    Path dir;

    @Test
    void reloadAppliesTheDifferenceAndKeepsOpenConnections() throws Exception {
        try (TcpTestServer a = TcpTestServer.named("a"); TcpTestServer b = TcpTestServer.named("b");
             TcpTestServer c = TcpTestServer.named("c")) {
            Path file = dir.resolve("l4mesh.yaml");
            Files.writeString(file, """
                admin: {bind: 127.0.0.1:0}
                listeners:
                  - {name: t, bind: 127.0.0.1:0, pool: p}
                pools:
                  p: {backends: [%s, %s]}
                """.formatted(a.address(), b.address()));
            try (Node node = Node.start(ConfigLoader.load(file))) {
                AdminClient api = new AdminClient(TestNodes.admin(node));
                InetSocketAddress t = node.listenerAddress("t");
                Socket open = Clients.connect(t);
                String on = Clients.askOn(open, "x");
                TcpTestServer kept = on.equals("a") ? a : b;
                TcpTestServer dropped = on.equals("a") ? b : a;

                // Keep t's port (port 0 would mean a new socket), drop one backend, add c, add a listener t2.
                Files.writeString(file, """
                    admin: {bind: 127.0.0.1:0}
                    listeners:
                      - {name: t, bind: 127.0.0.1:0, pool: p, maxConnections: 100}
                      - {name: t2, bind: 127.0.0.1:0, pool: q}
                    pools:
                      p: {backends: [%s, %s]}
                      q: {backends: [%s]}
                    """.formatted(kept.address(), c.address(), c.address()));
                AdminClient.Response r = api.send("POST", "/reload", null);
                assertEquals(200, r.status(), r.body());
                assertEquals(on, Clients.askOn(open, "still"), "open connection survives the reload");
                assertEquals(t, node.listenerAddress("t"), "unchanged listener keeps its socket");
                assertEquals("c", Clients.ask(node.listenerAddress("t2"), "x"));
                NodeStatus s = node.status();
                assertEquals(100, s.listeners().get(0).maxConnections());
                List<String> p = s.pools().stream().filter(x -> x.name().equals("p")).findFirst().orElseThrow()
                    .backends().stream().map(NodeStatus.Backend::address).sorted().toList();
                assertEquals(List.of(kept.address(), c.address()).stream().sorted().toList(), p);
                assertTrue(p.stream().noneMatch(dropped.address()::equals));

                // An invalid file: 400 with the reason, nothing changes.
                String before = Files.readString(file);
                Files.writeString(file, before.replace(c.address() + "]}\n  q", "db:abc]}\n  q"));
                AdminClient.Response bad = api.send("POST", "/reload", null);
                assertEquals(400, bad.status());
                assertTrue(bad.error().startsWith("config: pools.p.backends[1]: 'db:abc' is not host:port"),
                    bad.error());
                assertTrue(bad.error().endsWith("(nothing changed)"), bad.error());
                assertEquals(s.pools().size(), node.status().pools().size());
                assertEquals("c", Clients.ask(node.listenerAddress("t2"), "x"));

                // A listener that cannot bind: nothing changes either.
                try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                    Files.writeString(file, before.replace("- {name: t2,",
                        "- {name: t3, bind: 127.0.0.1:" + taken.getLocalPort() + ", pool: q}\n  - {name: t2,"));
                    AdminClient.Response busy = api.send("POST", "/reload", null);
                    assertEquals(400, busy.status(), busy.body());
                    assertTrue(busy.error().contains("cannot bind listener"), busy.error());
                    assertNull(node.listenerAddress("t3"));
                    assertEquals("c", Clients.ask(node.listenerAddress("t2"), "x"));
                }
                assertEquals(on, Clients.askOn(open, "after all that"));
                open.close();
                String metrics = node.metrics().scrape();
                assertTrue(metrics.contains("l4mesh_config_reloads_total{node=") && metrics.contains("result=\"ok\"} 1.0"),
                    "one good reload counted");
            }
        }
    }
}
