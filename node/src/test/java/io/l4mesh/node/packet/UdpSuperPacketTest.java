package io.l4mesh.node.packet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A UDP VIP in packet mode through real namespaces (client -- node -- backend, `l4mesh run` and `l4mesh decap`):
 * the client sends 40 datagrams of one flow in one send (UDP segmentation, as QUIC stacks do); the run reaches the
 * node's TUN device whole, the node reads it as one UDP super-packet, places the flow once and sends every datagram
 * on to the backend, where each arrives with its own content. Root only; skipped elsewhere with the reason.
 */
@Tag("slow")
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class UdpSuperPacketTest {
    private static final String VIP = "198.18.100.1";
    private static final int PORT = 9000;
    private static final int DATAGRAMS = 40;
    private static final int SIZE = 12;   // "datagram-NN" and a newline: every one the same size, as a run needs

    @Test
    void aRunSentAsOneArrivesAtTheBackendAsEveryDatagram() throws Exception {
        TunTest.assumeTunAndNamespaces();
        List<String> namespaces = new ArrayList<>();
        List<Process> procs = new ArrayList<>();
        Path dir = Files.createTempDirectory("l4mesh-udp-run");
        try {
            String[] t = DsrTest.topology(namespaces, 1600);
            String c = t[0];
            String n = t[1];
            String b = t[2];
            Path cfg = dir.resolve("node.yaml");
            Files.writeString(cfg, """
                node: {id: pu}
                admin: {bind: 127.0.0.1:19991}
                listeners:
                  - name: vip-udp
                    bind: %s:%d
                    protocol: udp
                    pool: games
                    mode: packet
                    packet: {tun: l4mudpt, queues: 1, fabricMtu: 1600}
                pools:
                  games:
                    backends: ["198.18.20.2:%d"]
                    healthCheck: {interval: 500ms, timeout: 200ms}
                """.formatted(VIP, PORT, PORT));
            procs.add(DsrTest.inNamespace(n, dir.resolve("node.log"), List.of("run", "--config", cfg.toString())));
            procs.add(DsrTest.inNamespace(b, dir.resolve("decap.log"), List.of("decap", "--listen",
                "198.18.20.2:6080", "--tun", "l4decap", "--vip", VIP)));
            DsrTest.awaitLine(dir.resolve("node.log"), "event=node.started", procs.get(0));
            DsrTest.awaitLine(dir.resolve("decap.log"), "l4mesh decap: GUE on", procs.get(1));
            // the health check connects to the backend's TCP port; the datagrams go to its UDP socket on the VIP
            ServerSocket health = NetNamespace.call(b, () -> new ServerSocket(PORT, 50));
            Thread.ofPlatform().daemon().start(() -> {
                while (!health.isClosed()) {
                    try (Socket s = health.accept()) {
                        s.getInputStream().read();
                    } catch (Exception e) {
                        return;
                    }
                }
            });
            try (health; DatagramSocket service = NetNamespace.call(b, () -> new DatagramSocket(
                new InetSocketAddress("0.0.0.0", PORT)));
                 Arena arena = Arena.ofShared()) {   // the client sends from a thread of its namespace
                service.setSoTimeout(200);
                DatagramPacket in = new DatagramPacket(new byte[64], 64);
                // until the backend is up (two passed checks), a datagram finds no backend and is counted
                byte[] ping = "ping-------\n".getBytes(StandardCharsets.US_ASCII);
                awaitThrough(c, service, in, ping);
                long before = counter(n, "super_packets");

                MemorySegment run = arena.allocate((long) DATAGRAMS * SIZE);
                Set<String> sent = new TreeSet<>();
                for (int i = 0; i < DATAGRAMS; i++) {
                    String d = "datagram-%02d\n".formatted(i);
                    assertEquals(SIZE, d.length());
                    sent.add(d);
                    MemorySegment.copy(d.getBytes(StandardCharsets.US_ASCII), 0, run, ValueLayout.JAVA_BYTE,
                        (long) i * SIZE, SIZE);
                }
                NetNamespace.call(c, () -> {
                    try (Arena a = Arena.ofConfined(); UdpSegmentSender sender = new UdpSegmentSender(a, SIZE)) {
                        assertTrue(sender.send(run, new InetSocketAddress(VIP, PORT)));
                    }
                    return null;
                });
                Set<String> got = new TreeSet<>();
                service.setSoTimeout(5000);
                while (got.size() < DATAGRAMS) {
                    try {
                        service.receive(in);
                    } catch (SocketTimeoutException e) {
                        throw new AssertionError(got.size() + " of " + DATAGRAMS + " datagrams arrived: " + got, e);
                    }
                    String d = new String(in.getData(), 0, in.getLength(), StandardCharsets.US_ASCII);
                    if (!d.equals(new String(ping, StandardCharsets.US_ASCII))) {
                        got.add(d);
                    }
                }
                assertEquals(sent, got, "every datagram of the run, each with its own content");
                if (Files.readString(dir.resolve("node.log")).contains("udp_offload=true")) {   // Linux 6.2+
                    assertEquals(before + 1, counter(n, "super_packets"), "the run was one read of the TUN device");
                }
            }
        } finally {
            for (Process p : procs) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
            for (String name : namespaces) {
                TunTest.ip("netns", "del", name);
            }
            try (var walk = Files.walk(dir)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(x -> x.toFile().delete());
            }
        }
    }

    /** Sends {@code ping} from the client until the backend's service receives it (at most 30 s). */
    private static void awaitThrough(String client, DatagramSocket service, DatagramPacket in, byte[] ping)
        throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        try (DatagramSocket s = NetNamespace.call(client, () -> new DatagramSocket())) {
            while (true) {
                s.send(new DatagramPacket(ping, ping.length, new InetSocketAddress(VIP, PORT)));
                try {
                    service.receive(in);
                    return;
                } catch (SocketTimeoutException e) {
                    assertTrue(System.nanoTime() < deadline, "no datagram reached the backend through the node");
                }
            }
        }
    }

    /** The node's {@code l4mesh_packet_offload_total} of {@code kind} for the listener. */
    private static long counter(String node, String kind) throws Exception {
        String metrics = NetNamespace.call(node, () -> DsrTest.httpGet("127.0.0.1", 19991, "/metrics"));
        Matcher m = Pattern.compile("l4mesh_packet_offload_total\\{kind=\"" + kind + "\",listener=\"vip-udp\"[^}]*} "
            + "([0-9.E]+)").matcher(metrics);
        assertTrue(m.find(), "no " + kind + " counter in " + metrics);
        return (long) Double.parseDouble(m.group(1));
    }
}
