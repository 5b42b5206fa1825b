package io.l4mesh.node.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.l4mesh.node.Node;
import io.l4mesh.node.admin.NodeStatus;
import io.l4mesh.node.admin.AdminClient;
import io.l4mesh.node.testing.Await;
import io.l4mesh.node.testing.Cleanup;
import io.l4mesh.node.testing.TestNodes;
import io.l4mesh.node.testing.UdpTestServer;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.Timeout;

/** The UDP proxy through real datagram sockets on loopback. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class UdpProxyTest {
    @RegisterExtension
    final Cleanup cleanup = new Cleanup();

    private Node node(List<UdpTestServer> servers, String listenerExtra) throws Exception {
        StringBuilder b = new StringBuilder();
        for (UdpTestServer s : servers) {
            b.append("      - ").append(s.address()).append('\n');
        }
        return cleanup.add(TestNodes.start("""
            admin: {bind: 127.0.0.1:0}
            listeners:
              - {name: u, bind: 127.0.0.1:0, protocol: udp, pool: p%s}
            pools:
              p:
                healthCheck: {enabled: false}
                backends:
            %s""".formatted(listenerExtra, b)));
    }

    private List<UdpTestServer> servers(int n) throws IOException {
        List<UdpTestServer> l = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            l.add(cleanup.add(new UdpTestServer("u" + i)));
        }
        return l;
    }

    /** A client socket connected to the listener: the kernel drops replies from any other address. */
    private DatagramSocket client(InetSocketAddress listener) throws IOException {
        DatagramSocket s = cleanup.add(new DatagramSocket());
        s.connect(listener);
        s.setSoTimeout(2000);
        return s;
    }

    private static String ask(DatagramSocket s, String msg) throws IOException {
        byte[] out = msg.getBytes(StandardCharsets.UTF_8);
        s.send(new DatagramPacket(out, out.length));
        byte[] buf = new byte[2048];
        DatagramPacket p = new DatagramPacket(buf, buf.length);
        s.receive(p);
        return new String(p.getData(), 0, p.getLength(), StandardCharsets.UTF_8);
    }

    private static NodeStatus.Listener listener(Node node) throws Exception {
        return node.status().listeners().get(0);
    }

    @Test
    void roundTripsKeepEachClientOnOneBackendAndReplyFromTheListenerAddress() throws Exception {
        List<UdpTestServer> s = servers(3);
        Node node = node(s, "");
        InetSocketAddress addr = node.listenerAddress("u");
        Map<String, Integer> perBackend = new HashMap<>();
        for (int c = 0; c < 30; c++) {
            DatagramSocket client = client(addr);
            Set<String> seen = new HashSet<>();
            for (int i = 0; i < 10; i++) {
                String reply = ask(client, "msg " + i);
                String[] parts = reply.split(" ", 2);
                assertEquals("msg " + i, parts[1], "payload intact");
                seen.add(parts[0]);
            }
            assertEquals(1, seen.size(), "one client, one backend");
            perBackend.merge(seen.iterator().next(), 1, Integer::sum);
        }
        assertEquals(3, perBackend.size(), "30 clients spread over 3 backends: " + perBackend);
        NodeStatus.Listener l = listener(node);
        assertEquals(30, l.accepted(), "one session per client");
        assertEquals(30, l.active());
        assertEquals(30, s.stream().mapToInt(UdpTestServer::peers).sum(), "one backend socket per session");
        assertTrue(node.metrics().scrape().contains("l4mesh_udp_datagrams_total{direction=\"in\",listener=\"u\""));
    }

    @Test
    void sessionsExpireWhenIdle() throws Exception {
        Node node = node(servers(2), ", idleTimeout: 300ms");
        InetSocketAddress addr = node.listenerAddress("u");
        for (int c = 0; c < 5; c++) {
            ask(client(addr), "x");
        }
        assertEquals(5, listener(node).active());
        long ms = Await.millisUntil(Duration.ofSeconds(5), "sessions expired", () -> {
            try {
                return listener(node).active() == 0;
            } catch (Exception e) {
                return false;
            }
        });
        assertTrue(ms >= 150, "not long before the idle timeout: " + ms);
        assertEquals(5, listener(node).idleTimeouts());
    }

    @Test
    void aClientBackAfterItsSessionExpiredReturnsToItsBackendThoughThePoolChanged() throws Exception {
        List<UdpTestServer> s = servers(2);
        Node node = node(s, ", idleTimeout: 300ms");
        InetSocketAddress addr = node.listenerAddress("u");
        List<DatagramSocket> clients = new ArrayList<>();
        Map<DatagramSocket, String> first = new HashMap<>();
        for (int c = 0; c < 20; c++) {
            DatagramSocket client = client(addr);
            clients.add(client);
            first.put(client, ask(client, "a").split(" ")[0]);
        }
        Await.until(Duration.ofSeconds(5), "sessions expired", () -> {
            try {
                return listener(node).active() == 0;
            } catch (Exception e) {
                return false;
            }
        });
        AdminClient api = new AdminClient(TestNodes.admin(node));
        for (UdpTestServer extra : servers(6)) {
            assertEquals(201, api.send("POST", "/pools/p/backends", Map.of("address", extra.address())).status());
        }
        int hashWouldMove = 0;
        for (DatagramSocket client : clients) {
            assertEquals(first.get(client), ask(client, "b").split(" ")[0], "back to its backend");
            var lookup = api.get("/lookup?listener=u&src=127.0.0.1:" + client.getLocalPort()).json();
            assertEquals("flow-table", lookup.path("placedBy").asText());
            hashWouldMove += lookup.path("backend").asText().equals(lookup.path("hashBackend").asText()) ? 0 : 1;
        }
        assertTrue(hashWouldMove > 0, "Maglev over 8 backends would have moved some of the 20 clients");
    }

    @Test
    void boundedSessionTableRefusesAndCounts() throws Exception {
        List<UdpTestServer> s = servers(1);
        Node node = node(s, ", maxConnections: 3");
        InetSocketAddress addr = node.listenerAddress("u");
        List<DatagramSocket> admitted = new ArrayList<>();
        for (int c = 0; c < 3; c++) {
            DatagramSocket client = client(addr);
            ask(client, "x");
            admitted.add(client);
        }
        for (int c = 0; c < 2; c++) {
            DatagramSocket refused = client(addr);
            refused.setSoTimeout(300);
            assertThrows(SocketTimeoutException.class, () -> ask(refused, "y"), "no session, no reply");
        }
        assertEquals(2, listener(node).rejectedLimit());
        assertEquals(3, listener(node).active());
        for (DatagramSocket a : admitted) {
            assertTrue(ask(a, "still").endsWith("still"), "admitted sessions keep working");
        }
    }

    @Test
    void sessionMovesWhenItsBackendIsRemoved() throws Exception {
        List<UdpTestServer> s = servers(2);
        Node node = node(s, "");
        DatagramSocket client = client(node.listenerAddress("u"));
        String first = ask(client, "a").split(" ")[0];
        UdpTestServer victim = s.stream().filter(x -> x.name().equals(first)).findFirst().orElseThrow();
        AdminClient api = new AdminClient(TestNodes.admin(node));
        assertEquals(200, api.send("DELETE", "/pools/p/backends/" + AdminClient.segment(victim.address()), null)
            .status());
        String second = ask(client, "b").split(" ")[0];
        assertNotEquals(first, second, "the next datagram is rehashed to a live backend");
        assertEquals(second, ask(client, "c").split(" ")[0]);
    }

    @Test
    void drainingBackendKeepsItsSessions() throws Exception {
        List<UdpTestServer> s = servers(2);
        Node node = node(s, "");
        DatagramSocket client = client(node.listenerAddress("u"));
        String first = ask(client, "a").split(" ")[0];
        UdpTestServer victim = s.stream().filter(x -> x.name().equals(first)).findFirst().orElseThrow();
        AdminClient api = new AdminClient(TestNodes.admin(node));
        api.send("POST", "/pools/p/backends/" + AdminClient.segment(victim.address()) + "/drain", null);
        assertEquals(first, ask(client, "b").split(" ")[0], "draining keeps existing sessions");
        for (int c = 0; c < 10; c++) {
            assertNotEquals(first, ask(client(node.listenerAddress("u")), "n").split(" ")[0], "new sessions avoid it");
        }
    }
}
