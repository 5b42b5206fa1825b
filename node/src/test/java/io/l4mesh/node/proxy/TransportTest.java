package io.l4mesh.node.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.l4mesh.node.Node;
import io.l4mesh.node.testing.Cleanup;
import io.l4mesh.node.testing.Clients;
import io.l4mesh.node.testing.TcpTestServer;
import io.l4mesh.node.testing.TestNodes;
import io.l4mesh.node.testing.UdpTestServer;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.uring.IoUring;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every transport a node can be asked for carries TCP (a request, the client's half-close, the answer after it)
 * and UDP (a datagram and its reply from the listener's address), through real sockets on loopback. A transport
 * this kernel or platform lacks is skipped with the reason.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TransportTest {
    @RegisterExtension
    final Cleanup cleanup = new Cleanup();

    @ParameterizedTest
    @ValueSource(strings = {"epoll", "io_uring", "nio"})
    void proxiesTcpWithHalfCloseAndUdp(String transport) throws Exception {
        Throwable missing = switch (transport) {
            case "epoll" -> Epoll.unavailabilityCause();
            case "io_uring" -> IoUring.unavailabilityCause();
            default -> null;
        };
        Assumptions.assumeTrue(missing == null, () -> transport + " is not available here: " + missing);
        TcpTestServer tcp = cleanup.add(new TcpTestServer("tcp", (s, srv) -> {
            byte[] req = s.getInputStream().readAllBytes();   // until the client's FIN
            s.getOutputStream().write(("got " + new String(req, StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8));
            s.close();
        }));
        UdpTestServer udp = cleanup.add(new UdpTestServer("udp"));
        Node node = cleanup.add(TestNodes.start("""
            runtime: {transport: %s}
            admin: {bind: 127.0.0.1:0}
            listeners:
              - {name: t, bind: 127.0.0.1:0, protocol: tcp, pool: t}
              - {name: u, bind: 127.0.0.1:0, protocol: udp, pool: u}
            pools:
              t: {backends: [%s]}
              u: {healthCheck: {enabled: false}, backends: [%s]}
            """.formatted(transport, tcp.address(), udp.address())));
        assertEquals(transport, node.status().transport());

        try (Socket c = Clients.connect(node.listenerAddress("t"))) {
            c.getOutputStream().write("request".getBytes(StandardCharsets.UTF_8));
            c.shutdownOutput();
            assertEquals("got request", new String(c.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        }

        try (DatagramSocket c = new DatagramSocket()) {
            c.connect(node.listenerAddress("u"));   // a reply from any other address would be dropped
            c.setSoTimeout(2000);
            byte[] out = "ping".getBytes(StandardCharsets.UTF_8);
            c.send(new DatagramPacket(out, out.length));
            DatagramPacket in = new DatagramPacket(new byte[512], 512);
            c.receive(in);
            assertEquals("udp ping", new String(in.getData(), 0, in.getLength(), StandardCharsets.UTF_8));
        }
    }
}
