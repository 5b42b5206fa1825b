package io.l4mesh.chaos.traffic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.l4mesh.chaos.cluster.ClientSide;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The self-checking traffic against a backend that misbehaves on purpose: each long connection notices the fault
 * done to it (a reset, a wrong echo, another backend answering), short connections and UDP flows record theirs.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TrafficTest {
    /**
     * A backend on loopback answering each line with {@code backend-a <line>}; after 20 lines it resets c0, garbles
     * c1's echo and answers c2 as another backend. Datagrams are answered too, as {@code backend-a <payload>}.
     */
    static final class Misbehaving implements AutoCloseable {
        final ServerSocket tcp = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        final DatagramSocket udp = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(),
            tcp.getLocalPort()));
        final AtomicBoolean dropUdp = new AtomicBoolean();

        Misbehaving() throws IOException {
            Thread.ofVirtual().start(() -> {
                while (!tcp.isClosed()) {
                    try {
                        Socket s = tcp.accept();
                        Thread.ofVirtual().start(() -> serve(s));
                    } catch (IOException e) {
                        return;
                    }
                }
            });
            Thread.ofVirtual().start(() -> {
                byte[] buf = new byte[2048];
                while (!udp.isClosed()) {
                    try {
                        DatagramPacket p = new DatagramPacket(buf, buf.length);
                        udp.receive(p);
                        if (dropUdp.get()) {
                            continue;
                        }
                        byte[] r = ("backend-a " + new String(p.getData(), 0, p.getLength(), StandardCharsets.US_ASCII))
                            .getBytes(StandardCharsets.US_ASCII);
                        udp.send(new DatagramPacket(r, r.length, p.getSocketAddress()));
                    } catch (IOException e) {
                        return;
                    }
                }
            });
        }

        private void serve(Socket s) {
            try (s) {
                InputStream in = s.getInputStream();
                OutputStream out = s.getOutputStream();
                String line;
                int n = 0;
                while ((line = LongConnection.readLine(in)) != null) {
                    n++;
                    String reply = "backend-a " + line;
                    if (n > 20 && line.startsWith("c0 ")) {
                        s.setSoLinger(true, 0);
                        return;                                   // closing with linger 0 sends a reset
                    } else if (n > 20 && line.startsWith("c1 ")) {
                        reply = "backend-a " + line.replace('a', 'b');
                    } else if (n > 20 && line.startsWith("c2 ")) {
                        reply = "backend-b " + line;
                    }
                    out.write((reply + "\n").getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                }
            } catch (IOException ignored) {
                // the client went away
            }
        }

        InetSocketAddress address() {
            return new InetSocketAddress(InetAddress.getLoopbackAddress(), tcp.getLocalPort());
        }

        @Override
        public void close() throws IOException {
            tcp.close();
            udp.close();
        }
    }

    static ClientSide to(InetSocketAddress target) {
        return new ClientSide() {
            @Override
            public SocketChannel openTcp() throws IOException {
                return SocketChannel.open();
            }

            @Override
            public DatagramChannel openUdp() throws IOException {
                return DatagramChannel.open();
            }

            @Override
            public InetSocketAddress tcpTarget(int i) {
                return target;
            }

            @Override
            public InetSocketAddress udpTarget(int i) {
                return target;
            }
        };
    }

    @Test
    void eachLongConnectionNoticesWhatIsDoneToIt() throws Exception {
        try (Misbehaving b = new Misbehaving();
             Traffic t = Traffic.start(to(b.address()), new Traffic.Spec(4, 10, 20, 2, 20), 7, new RunClock())) {
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (t.longConnections().stream().limit(3).anyMatch(c -> c.failure() == null)
                && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            Thread.sleep(300);
            t.stop();
            List<LongConnection.Result> r = t.longConnections().stream().map(LongConnection::result).toList();
            assertEquals(LongConnection.Failure.RESET, r.get(0).failure(), r.get(0).detail());
            assertEquals(LongConnection.Failure.WRONG_ECHO, r.get(1).failure(), r.get(1).detail());
            assertEquals(LongConnection.Failure.MOVED, r.get(2).failure(), r.get(2).detail());
            assertTrue(r.get(2).detail().contains("from backend-a to backend-b"), r.get(2).detail());
            assertNull(r.get(3).failure(), "the connection left alone is fine: " + r.get(3).detail());
            assertEquals("backend-a", r.get(3).backend());
            assertTrue(r.get(3).exchanges() > 20);
            assertTrue(t.shortConnections().size() > 3 && t.shortConnections().stream()
                .allMatch(ShortConnections.Attempt::ok), "short connections answered: " + t.shortConnections());
            List<UdpFlows.Result> u = t.udpFlows().stream().map(UdpFlows.Flow::result).toList();
            assertTrue(u.stream().allMatch(f -> f.sent() > 5 && f.lost() == 0 && f.changes() == 0), u.toString());
        }
    }

    @Test
    void refusedNewConnectionsAndLostDatagramsAreRecorded() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closed = s.getLocalPort();
        }
        try (Traffic t = Traffic.start(to(new InetSocketAddress(InetAddress.getLoopbackAddress(), closed)),
            new Traffic.Spec(0, 10, 20, 0, 20), 1, new RunClock())) {
            Thread.sleep(600);
            t.stop();
            List<ShortConnections.Attempt> a = t.shortConnections();
            assertTrue(a.size() >= 5 && a.stream().noneMatch(ShortConnections.Attempt::ok), a.toString());
            assertEquals("refused", a.get(0).failure());
        }
        try (Misbehaving b = new Misbehaving();
             Traffic t = Traffic.start(to(b.address()), new Traffic.Spec(0, 10, 0, 1, 20), 1, new RunClock())) {
            Thread.sleep(300);
            b.dropUdp.set(true);
            Thread.sleep(1200);
            t.stop();
            UdpFlows.Result f = t.udpFlows().get(0).result();
            assertTrue(f.lost() >= 2 && f.answered() >= 3, "lost " + f.lost() + " of " + f.sent());
        }
    }

    @Test
    void linesAreNumberedAndChecksummed() {
        String line = LongConnection.line(7, 42, new SplittableRandom(1));
        assertTrue(line.startsWith("c7 n42 "), line);
        assertTrue(LongConnection.checksumOk(line));
        assertTrue(!LongConnection.checksumOk(line.replaceFirst("n42", "n43")), "a changed number fails the sum");
    }

    @Test
    void trafficIsBounded() {
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
            () -> new Traffic.Spec(5000, 50, 20, 20, 100));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
            () -> new Traffic.Spec(10, 50, 1000, 20, 100));
    }
}
