package io.l4mesh.node.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.l4mesh.node.admin.AdminClient;
import io.l4mesh.node.testing.Await;
import io.l4mesh.node.testing.Clients;
import io.l4mesh.node.testing.NodeProcess;
import io.l4mesh.node.testing.TcpTestServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.DisabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/** {@code l4mesh run} as a real process: exit codes, SIGTERM drain, SIGHUP reload. */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
@DisabledOnOs(value = OS.WINDOWS, disabledReason = "POSIX signals")
class NodeProcessTest {
    @TempDir
    Path dir;

    private static InetSocketAddress address(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        return new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
    }

    @Test
    void invalidConfigExitsWithCode2AndOneLine() throws Exception {
        Path file = dir.resolve("bad.yaml");
        Files.writeString(file, """
            listeners: [{name: t, bind: 127.0.0.1:0, pool: p}]
            pools: {p: {backends: [10.0.0.1:80, "db:abc"]}}
            """);
        try (NodeProcess p = NodeProcess.start("run", "--config", file.toString())) {
            assertEquals(2, p.awaitExit(Duration.ofSeconds(30)));
            Await.until(Duration.ofSeconds(2), "stderr read", () -> !p.stderr().isEmpty());
            assertEquals(java.util.List.of("config: pools.p.backends[1]: 'db:abc' is not host:port"), p.stderr());
        }
    }

    @Test
    void sigtermDrainsThenExitsZero() throws Exception {
        try (TcpTestServer backend = TcpTestServer.named("a")) {
            Path file = dir.resolve("l4mesh.yaml");
            Files.writeString(file, """
                admin: {bind: 127.0.0.1:0}
                runtime: {shutdownGrace: 20s}
                listeners: [{name: t, bind: 127.0.0.1:0, pool: p}]
                pools: {p: {backends: [%s]}}
                """.formatted(backend.address()));
            try (NodeProcess p = NodeProcess.start("run", "--config", file.toString())) {
                InetSocketAddress t = address(NodeProcess.field(p.awaitLog("event=listener.bound",
                    Duration.ofSeconds(30)), "bind"));
                p.awaitLog("event=node.started", Duration.ofSeconds(10));
                Socket open = Clients.connect(t);
                assertEquals("a", Clients.askOn(open, "x"));

                p.signal("TERM");
                p.awaitLog("event=node.draining", Duration.ofSeconds(10));
                assertThrows(IOException.class, () -> Clients.ask(t, "new"), "no new connections while draining");
                assertEquals("a", Clients.askOn(open, "still served"), "open connection continues during the grace");
                assertTrue(p.process().isAlive(), "waits for the open connection");
                open.close();
                assertEquals(0, p.awaitExit(Duration.ofSeconds(10)));
                assertTrue(p.stderr().stream().anyMatch(l -> l.contains("event=node.stopped forced=0")), p.stderr()
                    .toString());
            }
        }
    }

    @Test
    void sighupReloadsAndAnInvalidFileChangesNothing() throws Exception {
        try (TcpTestServer a = TcpTestServer.named("a"); TcpTestServer b = TcpTestServer.named("b")) {
            Path file = dir.resolve("l4mesh.yaml");
            String base = """
                admin: {bind: 127.0.0.1:0}
                listeners: [{name: t, bind: 127.0.0.1:0, pool: p}]
                pools: {p: {backends: [%s]}}
                """;
            Files.writeString(file, base.formatted(a.address()));
            try (NodeProcess p = NodeProcess.start("run", "--config", file.toString())) {
                String admin = NodeProcess.field(p.awaitLog("event=node.started", Duration.ofSeconds(30)), "admin");
                AdminClient api = new AdminClient(admin);
                Files.writeString(file, base.formatted(b.address()));
                p.signal("HUP");
                p.awaitLog("event=config.reloaded", Duration.ofSeconds(10));
                assertTrue(api.get("/backends").body().contains(b.address()));

                Files.writeString(file, "listeners: [{name: t, bind: nowhere, pool: p}]\n");
                p.signal("HUP");
                String line = p.awaitLog("event=config.reload_rejected", Duration.ofSeconds(10));
                assertTrue(line.contains("listeners[0].bind: 'nowhere' is not host:port"), line);
                assertTrue(api.get("/backends").body().contains(b.address()), "nothing changed");
                assertTrue(p.process().isAlive());

                // The CLI's --json prints one JSON document for scripts.
                java.io.StringWriter out = new java.io.StringWriter();
                picocli.CommandLine cl = L4meshCli.commandLine();
                cl.setOut(new java.io.PrintWriter(out));
                assertEquals(0, cl.execute("status", "--admin", admin, "--json"));
                assertEquals(1, new com.fasterxml.jackson.databind.ObjectMapper().readTree(out.toString())
                    .path("listeners").size());
                p.signal("TERM");
                assertEquals(0, p.awaitExit(Duration.ofSeconds(15)));
            }
        }
    }
}
