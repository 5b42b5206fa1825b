package io.l4mesh.node.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.l4mesh.node.Node;
import io.l4mesh.node.testing.Await;
import io.l4mesh.node.testing.Cleanup;
import io.l4mesh.node.testing.Clients;
import io.l4mesh.node.testing.TcpTestServer;
import io.l4mesh.node.testing.TestNodes;
import io.l4mesh.node.testing.UdpTestServer;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.uring.IoUring;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
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

    private static void assumeAvailable(String transport) {
        Throwable missing = switch (transport) {
            case "epoll" -> Epoll.unavailabilityCause();
            case "io_uring" -> IoUring.unavailabilityCause();
            default -> null;
        };
        Assumptions.assumeTrue(missing == null, () -> transport + " is not available here: " + missing);
    }

    @ParameterizedTest
    @ValueSource(strings = {"epoll", "io_uring", "nio"})
    void proxiesTcpWithHalfCloseAndUdp(String transport) throws Exception {
        assumeAvailable(transport);
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

    /**
     * After one side's FIN the other direction goes on with more than every buffer on the way holds, against a
     * reader that starts late: a client sending after the backend's FIN, and a response after the client's FIN.
     * All of it arrives, in order, then the FIN, and the connection closes.
     */
    @ParameterizedTest
    @ValueSource(strings = {"epoll", "io_uring", "nio"})
    void halfClosedConnectionsCarryMoreThanTheBuffersHold(String transport) throws Exception {
        assumeAvailable(transport);
        int size = 32 << 20;
        AtomicLong uploaded = new AtomicLong(Long.MIN_VALUE);
        TcpTestServer upload = cleanup.add(new TcpTestServer("upload", (s, srv) -> {
            s.getOutputStream().write("banner".getBytes(StandardCharsets.UTF_8));
            s.shutdownOutput();
            LockSupport.parkNanos(300_000_000L);              // the node buffers, then stops reading the client
            uploaded.set(readPattern(s.getInputStream()));
        }));
        TcpTestServer download = cleanup.add(new TcpTestServer("download", (s, srv) -> {
            s.getInputStream().readAllBytes();                // until the client's FIN
            s.getOutputStream().write(pattern(size));
            s.close();
        }));
        Node node = cleanup.add(TestNodes.start("""
            runtime: {transport: %s}
            admin: {bind: 127.0.0.1:0}
            listeners:
              - {name: up, bind: 127.0.0.1:0, pool: up}
              - {name: down, bind: 127.0.0.1:0, pool: down}
            pools:
              up: {backends: [%s]}
              down: {backends: [%s]}
            """.formatted(transport, upload.address(), download.address())));

        try (Socket c = Clients.connect(node.listenerAddress("down"))) {
            c.getOutputStream().write("GET".getBytes(StandardCharsets.UTF_8));
            c.shutdownOutput();
            LockSupport.parkNanos(300_000_000L);              // the node buffers, then stops reading the backend
            assertEquals(size, readPattern(c.getInputStream()), "bytes in order (negative: where they break)");
        }
        awaitNoConnections(node);

        // Netty 4.2.18's io_uring transport stalls here: the node stops passing the client's data on to the backend
        // a few MB in (README, "Transports"). The download above passes on it; epoll, the default, passes both.
        Assumptions.assumeFalse(transport.equals("io_uring"),
            "io_uring stalls an upload after the backend's FIN (known, README Transports)");
        try (Socket c = Clients.connect(node.listenerAddress("up"))) {
            assertEquals("banner", new String(c.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            CompletableFuture<Void> sent = CompletableFuture.runAsync(() -> {
                try {
                    c.getOutputStream().write(pattern(size));
                    c.shutdownOutput();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            Await.until(Duration.ofSeconds(20), "the backend read to EOF", () -> uploaded.get() != Long.MIN_VALUE);
            assertEquals(size, uploaded.get(), "bytes in order (negative: where they break)");
            sent.get(5, TimeUnit.SECONDS);
        }
        awaitNoConnections(node);
    }

    private static void awaitNoConnections(Node node) {
        Await.until(Duration.ofSeconds(5), "the node's connections closed", () -> {
            try {
                return node.status().listeners().stream().allMatch(l -> l.active() == 0);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    /** {@code size} bytes, byte i being {@code (byte) i}. */
    private static byte[] pattern(int size) {
        byte[] data = new byte[size];
        for (int i = 0; i < size; i++) {
            data[i] = (byte) i;
        }
        return data;
    }

    /** Reads to EOF: how many bytes came, or minus the offset of the first that breaks {@link #pattern}. */
    private static long readPattern(InputStream in) throws IOException {
        long n = 0;
        byte[] buf = new byte[64 * 1024];
        for (int r; (r = in.read(buf)) > 0; n += r) {
            for (int i = 0; i < r; i++) {
                if (buf[i] != (byte) (n + i)) {
                    return -(n + i);
                }
            }
        }
        return n;
    }
}
