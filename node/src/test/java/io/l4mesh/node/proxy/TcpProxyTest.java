package io.l4mesh.node.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.l4mesh.node.Node;
import io.l4mesh.node.admin.NodeStatus;
import io.l4mesh.node.testing.Await;
import io.l4mesh.node.testing.Cleanup;
import io.l4mesh.node.testing.Clients;
import io.l4mesh.node.testing.TcpTestServer;
import io.l4mesh.node.testing.TestNodes;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Timeout;

/** The TCP proxy through real sockets on loopback. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TcpProxyTest {
    @RegisterExtension
    final Cleanup cleanup = new Cleanup();

    private Node node(String poolBody, String listenerExtra) throws Exception {
        return cleanup.add(TestNodes.start("""
            admin: {bind: 127.0.0.1:0}
            listeners:
              - {name: t, bind: 127.0.0.1:0, protocol: tcp, pool: p%s}
            pools:
              p:
            %s
            """.formatted(listenerExtra, poolBody.indent(4))));
    }

    private static String backends(TcpTestServer... servers) {
        StringBuilder sb = new StringBuilder("backends:\n");
        for (TcpTestServer s : servers) {
            sb.append("  - ").append(s.address()).append('\n');
        }
        return sb.toString();
    }

    private static NodeStatus.Listener listener(Node node) throws Exception {
        return node.status().listeners().get(0);
    }

    private static NodeStatus.Backend backend(Node node, String address) throws Exception {
        return node.status().pools().get(0).backends().stream().filter(b -> b.address().equals(address))
            .findFirst().orElseThrow();
    }

    @Test
    void largeTransfersInBothDirectionsArriveIntact() throws Exception {
        long size = 48L << 20;
        AtomicReference<byte[]> backendReceived = new AtomicReference<>();
        AtomicReference<byte[]> backendSent = new AtomicReference<>();
        TcpTestServer server = cleanup.add(new TcpTestServer("bulk", (s, srv) -> {
            CompletableFuture<Object[]> reader = Clients.readAllAsync(s.getInputStream());
            backendSent.set(Clients.writeRandom(s.getOutputStream(), size, 2));
            s.shutdownOutput();
            backendReceived.set((byte[]) reader.join()[0]);
        }));
        Node node = node(backends(server), "");
        try (Socket c = Clients.connect(node.listenerAddress("t"))) {
            c.setSoTimeout(30_000);
            CompletableFuture<Object[]> reader = Clients.readAllAsync(c.getInputStream());
            byte[] sent = Clients.writeRandom(c.getOutputStream(), size, 1);
            c.shutdownOutput();
            Object[] got = reader.get(30, TimeUnit.SECONDS);
            assertEquals(size, (long) got[1]);
            assertArrayEquals(backendSent.get(), (byte[]) got[0], "backend to client bytes intact");
            Await.until(Duration.ofSeconds(10), "backend digest", () -> backendReceived.get() != null);
            assertArrayEquals(sent, backendReceived.get(), "client to backend bytes intact");
        }
        NodeStatus.Listener l = listener(node);
        assertEquals(size, l.bytesIn());
        assertEquals(size, l.bytesOut());
        Await.until(Duration.ofSeconds(5), "connection closed", () -> activeFlows(node) == 0);
    }

    private static long activeFlows(Node node) {
        try {
            return listener(node).active();
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }

    @Test
    void clientHalfCloseReachesBackendAndResponseStillFlows() throws Exception {
        TcpTestServer server = cleanup.add(new TcpTestServer("hc", (s, srv) -> {
            byte[] req = s.getInputStream().readAllBytes();   // until the client's FIN
            s.getOutputStream().write(("got " + req.length + " bytes: " + new String(req, StandardCharsets.UTF_8))
                .getBytes(StandardCharsets.UTF_8));
            s.close();
        }));
        Node node = node(backends(server), "");
        try (Socket c = Clients.connect(node.listenerAddress("t"))) {
            c.getOutputStream().write("request".getBytes(StandardCharsets.UTF_8));
            c.shutdownOutput();
            String reply = new String(c.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals("got 7 bytes: request", reply);
        }
    }

    @Test
    void backendHalfCloseReachesClientWhoCanStillSend() throws Exception {
        AtomicReference<String> late = new AtomicReference<>();
        TcpTestServer server = cleanup.add(new TcpTestServer("hc2", (s, srv) -> {
            s.getOutputStream().write("banner".getBytes(StandardCharsets.UTF_8));
            s.shutdownOutput();                               // FIN toward the client
            late.set(new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        }));
        Node node = node(backends(server), "");
        try (Socket c = Clients.connect(node.listenerAddress("t"))) {
            assertEquals("banner", new String(c.getInputStream().readAllBytes(), StandardCharsets.UTF_8),
                "client sees the banner, then EOF");
            c.getOutputStream().write("late data".getBytes(StandardCharsets.UTF_8));
            c.shutdownOutput();
            Await.until(Duration.ofSeconds(5), "backend got data sent after its FIN", () -> late.get() != null);
            assertEquals("late data", late.get());
        }
        Await.until(Duration.ofSeconds(5), "connection closed", () -> activeFlows(node) == 0);
    }

    @Test
    void backendResetMidTransferBecomesClientReset() throws Exception {
        TcpTestServer server = cleanup.add(TcpTestServer.echo("rst"));
        Node node = node(backends(server), "");
        try (Socket c = Clients.connect(node.listenerAddress("t"))) {
            c.getOutputStream().write(new byte[100_000]);
            InputStream in = c.getInputStream();
            byte[] buf = new byte[1000];
            assertTrue(in.read(buf) > 0, "data flows first");
            Await.until(Duration.ofSeconds(5), "backend has the connection", () -> !server.openSockets().isEmpty());
            server.resetAll();
            IOException e = assertThrows(IOException.class, () -> {
                while (in.read(buf) >= 0) {
                    // drain what was in flight, then the reset
                }
            });
            assertTrue(e.getMessage().contains("reset"), e.getMessage());
        }
        Await.until(Duration.ofSeconds(5), "reset counted", () -> {
            try {
                return listener(node).resets() >= 1;
            } catch (Exception ex) {
                return false;
            }
        });
        assertEquals(1.0, sample(node.metrics().scrape(), "l4mesh_resets_total\\{from=\"backend\",listener=\"t\",[^}]*}"),
            "counted as the backend's reset");
    }

    @Test
    void clientResetBecomesBackendReset() throws Exception {
        AtomicReference<String> outcome = new AtomicReference<>();
        TcpTestServer server = cleanup.add(new TcpTestServer("rst2", (s, srv) -> {
            try {
                s.getInputStream().readAllBytes();
                outcome.set("eof");
            } catch (SocketException e) {
                outcome.set(e.getMessage());
            }
        }));
        Node node = node(backends(server), "");
        Socket c = Clients.connect(node.listenerAddress("t"));
        c.getOutputStream().write("some data".getBytes(StandardCharsets.UTF_8));
        Await.until(Duration.ofSeconds(5), "backend connected", () -> server.accepted() == 1);
        c.setSoLinger(true, 0);
        c.close();
        Await.until(Duration.ofSeconds(5), "backend saw the end", () -> outcome.get() != null);
        assertTrue(outcome.get().toLowerCase().contains("reset"), "backend saw: " + outcome.get());
        Await.until(Duration.ofSeconds(5), "counted as the client's reset", () -> sample(node.metrics().scrape(),
            "l4mesh_resets_total\\{from=\"client\",listener=\"t\",[^}]*}") == 1.0);
    }

    @Test
    void refusedConnectRetriesTheNextBackendAndMarksItDownPassively() throws Exception {
        // Bound but not listening: connects are refused, and no other socket can take the port meanwhile.
        Socket reserved = cleanup.add(new Socket());
        reserved.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        int deadPort = reserved.getLocalPort();
        TcpTestServer live = cleanup.add(TcpTestServer.named("live"));
        Node node = node("""
            backends: [127.0.0.1:%d, %s]
            healthCheck: {enabled: false, fall: 3}
            """.formatted(deadPort, live.address()), "");
        InetSocketAddress addr = node.listenerAddress("t");
        for (int i = 0; i < 40; i++) {
            assertEquals("live", Clients.ask(addr, "hi"), "connection " + i + " reached the live backend");
        }
        NodeStatus.Backend dead = backend(node, "127.0.0.1:" + deadPort);
        assertTrue(dead.connectFailures() >= 3, "failures counted: " + dead.connectFailures());
        assertEquals("down", dead.health(), "three refused connects in a row mark it down");
        assertTrue(dead.healthReason().startsWith("passive"), dead.healthReason());
        assertEquals(0, listener(node).rejectedConnectFailed());
    }

    @Test
    void connectTimeoutMovesToTheNextBackend() throws Exception {
        // A listener that never accepts, with its backlog full: further SYNs are dropped, so connects time out.
        TcpTestServer blackhole = cleanup.add(new TcpTestServer("blackhole", null,
            new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1));
        List<Socket> fillers = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            Socket f = new Socket();
            try {
                f.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), blackhole.port()), 300);
            } catch (IOException ignored) {
                // Once the queue is full, connects time out: that is the state this test needs.
            }
            fillers.add(f);
            cleanup.add(f);
        }
        TcpTestServer live = cleanup.add(TcpTestServer.named("live"));
        Node node = node("""
            backends: [%s, %s]
            connectTimeout: 300ms
            healthCheck: {enabled: false, fall: 100}
            """.formatted(blackhole.address(), live.address()), ", algorithm: round-robin");
        InetSocketAddress addr = node.listenerAddress("t");
        long start = System.nanoTime();
        for (int i = 0; i < 4; i++) {
            assertEquals("live", Clients.ask(addr, "hi"));
        }
        long ms = (System.nanoTime() - start) / 1_000_000;
        NodeStatus.Backend bh = backend(node, blackhole.address());
        assertEquals(2, bh.connectFailures(), "round robin tried the blackhole for every second connection");
        assertTrue(ms >= 2 * 300 && ms < 4 * 300 + 2000, "two connect timeouts of 300 ms, took " + ms + " ms");
        String metrics = node.metrics().scrape();
        assertEquals(2.0, sample(metrics, "l4mesh_connections_retried_total\\{listener=\"t\",[^}]*}"),
            "the two connections the retry saved are counted apart");
        assertEquals(4.0, sample(metrics, "l4mesh_backend_first_byte_time_seconds_count\\{backend=\""
            + java.util.regex.Pattern.quote(live.address()) + "\",[^}]*}"), "time to first byte, once per connection");
        assertTrue(sample(metrics, "l4mesh_backend_first_byte_time_seconds_sum\\{backend=\""
            + java.util.regex.Pattern.quote(live.address()) + "\",[^}]*}") >= 2 * 0.3,
            "measured from the accept: two of them waited out a 300 ms connect timeout first");
    }

    /** The value of the one series of a scrape that {@code series} (a regex) matches. */
    private static double sample(String scrape, String series) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^" + series + " (\\S+)$").matcher(scrape);
        assertTrue(m.find(), "no series " + series);
        return Double.parseDouble(m.group(1));
    }

    @Test
    void idleTimeoutClosesBothSides() throws Exception {
        TcpTestServer server = cleanup.add(TcpTestServer.named("idle"));
        Node node = node(backends(server), ", idleTimeout: 300ms");
        try (Socket c = Clients.connect(node.listenerAddress("t"))) {
            assertEquals("idle", Clients.askOn(c, "hi"));
            long ms = Await.millisUntil(Duration.ofSeconds(5), "idle close", () -> {
                try {
                    return c.getInputStream().read() < 0;
                } catch (IOException e) {
                    return true;
                }
            });
            assertTrue(ms >= 200, "not before the idle timeout: " + ms + " ms");
        }
        assertEquals(1, listener(node).idleTimeouts());
        Await.until(Duration.ofSeconds(5), "backend side closed too", () -> server.openSockets().isEmpty());
    }

    @Test
    void bytesInOneDirectionOnlyKeepTheConnectionOpenPastTheIdleTimeout() throws Exception {
        TcpTestServer ticker = cleanup.add(new TcpTestServer("ticker", (s, srv) -> {
            try {
                for (int i = 0; i < 10; i++) {
                    s.getOutputStream().write('.');
                    s.getOutputStream().flush();
                    Thread.sleep(100);
                }
            } catch (IOException | InterruptedException ignored) {
                // the test is over
            }
        }));
        Node node = node(backends(ticker), ", idleTimeout: 300ms");
        try (Socket c = Clients.connect(node.listenerAddress("t"))) {
            c.setSoTimeout(2000);
            for (int i = 0; i < 10; i++) {      // 1 s of backend-to-client bytes only, the client silent
                assertEquals('.', c.getInputStream().read(), "byte " + i);
            }
        }
        assertEquals(0, listener(node).idleTimeouts());
    }

    @Test
    void backPressureStopsReadingWhenTheBackendDoesNot() throws Exception {
        TcpTestServer stuck = cleanup.add(new TcpTestServer("stuck", (s, srv) -> {
            try {
                Thread.sleep(60_000);
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
        }));
        Node node = node(backends(stuck), "");
        try (SocketChannel ch = SocketChannel.open(node.listenerAddress("t"))) {
            ch.configureBlocking(false);
            ByteBuffer chunk = ByteBuffer.allocate(64 * 1024);
            long written = 0;
            long lastProgress = System.nanoTime();
            while (System.nanoTime() - lastProgress < TimeUnit.MILLISECONDS.toNanos(1000)) {
                chunk.clear();
                int n = ch.write(chunk);
                if (n > 0) {
                    written += n;
                    lastProgress = System.nanoTime();
                } else {
                    Thread.sleep(5);
                }
                assertTrue(written < (256L << 20), "the proxy kept reading: " + written + " bytes accepted");
            }
            // Kernel buffers on both hops plus the proxy's 256 KiB high water mark: tens of MiB at most.
            assertTrue(written < (64L << 20), "bounded buffering, accepted " + written);
            System.out.printf("back-pressure: client could write %.1f MiB before the stall%n", written / 1048576.0);
        }
    }

    @Test
    void listenerConnectionLimitRejectsAndCounts() throws Exception {
        TcpTestServer server = cleanup.add(TcpTestServer.named("lim"));
        Node node = node(backends(server), ", maxConnections: 2");
        InetSocketAddress addr = node.listenerAddress("t");
        Socket a = cleanup.add(Clients.connect(addr));
        Socket b = cleanup.add(Clients.connect(addr));
        assertEquals("lim", Clients.askOn(a, "1"));
        assertEquals("lim", Clients.askOn(b, "2"));
        assertThrows(IOException.class, () -> {
            try (Socket c = Clients.connect(addr)) {
                c.getOutputStream().write("3\n".getBytes(StandardCharsets.UTF_8));
                if (c.getInputStream().read() < 0) {
                    throw new IOException("closed");
                }
            }
        }, "over the limit: reset");
        assertEquals(1, listener(node).rejectedLimit());
        a.close();
        Await.until(Duration.ofSeconds(5), "slot freed", () -> activeFlows(node) == 1);
        assertEquals("lim", Clients.ask(addr, "4"));
    }

    @Test
    void perBackendLimitSendsTheRestElsewhere() throws Exception {
        TcpTestServer a = cleanup.add(TcpTestServer.named("a"));
        TcpTestServer b = cleanup.add(TcpTestServer.named("b"));
        Node node = node(backends(a, b) + "maxConnectionsPerBackend: 2\n", ", algorithm: round-robin");
        InetSocketAddress addr = node.listenerAddress("t");
        List<String> who = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            who.add(Clients.askOn(cleanup.add(Clients.connect(addr)), "x"));
        }
        assertEquals(2, who.stream().filter("a"::equals).count());
        assertEquals(2, who.stream().filter("b"::equals).count());
        assertThrows(IOException.class, () -> {
            try (Socket c = Clients.connect(addr)) {
                c.getOutputStream().write("x\n".getBytes(StandardCharsets.UTF_8));
                if (c.getInputStream().read() < 0) {
                    throw new IOException("closed");
                }
            }
        }, "both backends full: the fifth connection is reset");
    }

    @Test
    void ipv6ListenerAndBackend() throws Exception {
        InetAddress v6 = InetAddress.getByName("::1");
        TcpTestServer server;
        try {
            server = cleanup.add(new TcpTestServer("six", TcpTestServer.namedHandler(),
                new InetSocketAddress(v6, 0), 50));
        } catch (IOException e) {
            org.junit.jupiter.api.Assumptions.abort("no IPv6 loopback here: " + e.getMessage());
            return;
        }
        Node node = cleanup.add(TestNodes.start("""
            admin: {bind: "[::1]:0"}
            listeners: [{name: t, bind: "[::1]:0", pool: p}]
            pools: {p: {backends: ["[::1]:%d"]}}
            """.formatted(server.port())));
        InetSocketAddress addr = node.listenerAddress("t");
        assertEquals("six", Clients.ask(addr, "hello"));
        NodeStatus.Lookup l = node.lookup("t", new InetSocketAddress("fd00::7", 4000), null);
        assertEquals("[::1]:" + server.port(), l.backend());
    }

    @Test
    void lookupAgreesWithWhereConnectionsGo() throws Exception {
        List<TcpTestServer> servers = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            servers.add(cleanup.add(TcpTestServer.named("b" + i)));
        }
        Node node = node(backends(servers.toArray(new TcpTestServer[0])), "");
        InetSocketAddress addr = node.listenerAddress("t");
        for (int i = 0; i < 30; i++) {
            try (Socket s = Clients.connect(addr)) {
                String who = Clients.askOn(s, "x");
                NodeStatus.Lookup l = node.lookup("t", (InetSocketAddress) s.getLocalSocketAddress(), addr);
                TcpTestServer expected = servers.stream().filter(x -> x.address().equals(l.backend())).findFirst()
                    .orElseThrow();
                assertEquals(expected.name(), who, "lookup and the data path agree for " + s.getLocalSocketAddress());
                assertNotNull(l.flowHash());
            }
        }
    }
}
