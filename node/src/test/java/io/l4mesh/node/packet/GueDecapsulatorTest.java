package io.l4mesh.node.packet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.l4mesh.node.testing.Await;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code l4mesh decap}'s receiver in a network namespace this test makes and removes: GUE datagrams sent to it in a
 * burst (so that receives take several at once) come out of its TUN device as the packets they carry and reach a
 * socket in the namespace; datagrams that carry no IP packet are counted and dropped; close stops the receiving
 * thread. Root only; skipped elsewhere with the reason.
 */
@Tag("slow")
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class GueDecapsulatorTest {
    @Test
    void burstsOfDatagramsBecomePacketsAndGarbageIsCountedAndDropped() throws Exception {
        TunTest.assumeTunAndNamespaces();
        String ns = "l4md-" + ProcessHandle.current().pid();
        TunTest.ip("netns", "add", ns);
        try {
            NetNamespace.call(ns, () -> {
                try (Tun tun = Tun.open("l4dec0", false);
                     Arena arena = Arena.ofConfined();
                     DatagramSocket sender = new DatagramSocket()) {
                    TunTest.ip("-n", ns, "link", "set", "lo", "up");
                    TunTest.ip("-n", ns, "link", "set", "l4dec0", "up");
                    TunTest.ip("-n", ns, "addr", "add", "198.18.251.1/24", "dev", "l4dec0");
                    try (DatagramSocket sink = new DatagramSocket(new InetSocketAddress("198.18.251.1", 0))) {
                        GueDecapsulator decap = new GueDecapsulator(new InetSocketAddress("127.0.0.1", 0), tun);
                        Thread receiver = Thread.ofPlatform().name("decap-test").start(decap);
                        // Bursts of 100: more than one receive batch each, and no more than the sink's socket buffer
                        // holds until it is read (the kernel drops what does not fit, which is not the decapsulator).
                        int bursts = 3;
                        int burst = 100;
                        int count = bursts * burst;
                        sink.setSoTimeout(5000);
                        Set<String> got = new HashSet<>();
                        DatagramPacket in = new DatagramPacket(new byte[64], 64);
                        MemorySegment packet = arena.allocate(128);
                        for (int i = 0; i < count; i++) {
                            byte[] inner = TunTest.udp4("198.18.251.2", 4000, "198.18.251.1", sink.getLocalPort(),
                                "p" + i);
                            MemorySegment.copy(inner, 0, packet, ValueLayout.JAVA_BYTE, 0, inner.length);
                            Checksums.fillIpv4Header(packet, 0);
                            byte[] datagram = packet.asSlice(0, inner.length).toArray(ValueLayout.JAVA_BYTE);
                            sender.send(new DatagramPacket(datagram, datagram.length, decap.localAddress()));
                            if ((i + 1) % burst == 0) {
                                while (got.size() < i + 1) {
                                    sink.receive(in);
                                    got.add(new String(in.getData(), 0, in.getLength(), StandardCharsets.US_ASCII));
                                }
                            }
                        }
                        byte[] garbage = "not an IP packet".getBytes(StandardCharsets.US_ASCII);
                        sender.send(new DatagramPacket(garbage, garbage.length, decap.localAddress()));
                        sender.send(new DatagramPacket(new byte[0], 0, decap.localAddress()));
                        Await.until(Duration.ofSeconds(5), "the garbage counted",
                            () -> decap.refused() == 2 && decap.decapsulated() == count);

                        decap.close();
                        receiver.join(TimeUnit.SECONDS.toMillis(2));
                        assertFalse(receiver.isAlive(), "the receiving thread stops on close");
                        decap.close();   // a second close does nothing
                        assertEquals(count, decap.decapsulated());
                    }
                }
                return null;
            });
        } finally {
            TunTest.ip("netns", "del", ns);
        }
    }

    /**
     * A run of datagrams sent with UDP GSO (as the node sends them) reaches the decapsulator as one merged buffer (UDP
     * GRO on its socket) and comes out as every packet of the run: a run of one flow's packets as one UDP super-packet
     * that the kernel cuts up again, a run that mixes two flows packet by packet.
     */
    @Test
    void aRunSentWithUdpGsoIsOneReceiveAndEveryPacket() throws Exception {
        TunTest.assumeTunAndNamespaces();
        String ns = "l4mg-" + ProcessHandle.current().pid();
        TunTest.ip("netns", "add", ns);
        try {
            NetNamespace.call(ns, () -> {
                try (Tun tun = Tun.open("l4dec1", false, true); Arena arena = Arena.ofConfined()) {
                    TunTest.ip("-n", ns, "link", "set", "lo", "up");
                    TunTest.ip("-n", ns, "link", "set", "l4dec1", "up");
                    TunTest.ip("-n", ns, "addr", "add", "198.18.252.1/24", "dev", "l4dec1");
                    try (DatagramSocket sink = new DatagramSocket(new InetSocketAddress("198.18.252.1", 0));
                         GueDecapsulator decap = new GueDecapsulator(new InetSocketAddress("127.0.0.1", 0), tun)) {
                        Assumptions.assumeTrue(decap.gro(), "this kernel has no UDP_GRO");
                        Thread receiver = Thread.ofPlatform().name("decap-gro-test").start(decap);
                        int runs = 3;
                        int perRun = 10;
                        int size = TunTest.udp4("198.18.252.2", 4000, "198.18.252.1", 1, "r0-0").length;
                        MemorySegment run = arena.allocate((long) size * perRun);
                        sink.setSoTimeout(5000);
                        Set<String> got = new HashSet<>();
                        DatagramPacket in = new DatagramPacket(new byte[64], 64);
                        try (UdpSegmentSender sender = new UdpSegmentSender(arena, size)) {
                            for (int r = 0; r < runs; r++) {
                                for (int i = 0; i < perRun; i++) {
                                    int sourcePort = r == 1 ? 4000 + i % 2 : 4000;   // run 1: two flows
                                    byte[] inner = TunTest.udp4("198.18.252.2", sourcePort, "198.18.252.1",
                                        sink.getLocalPort(), "r" + r + "-" + i);
                                    MemorySegment p = run.asSlice((long) i * size, size);
                                    MemorySegment.copy(inner, 0, p, ValueLayout.JAVA_BYTE, 0, inner.length);
                                    Checksums.fillIpv4Header(p, 0);
                                }
                                assertTrue(sender.send(run, decap.localAddress()));
                                while (got.size() < (r + 1) * perRun) {
                                    sink.receive(in);
                                    got.add(new String(in.getData(), 0, in.getLength(), StandardCharsets.US_ASCII));
                                }
                            }
                        }
                        assertEquals(runs * perRun, got.size());
                        // the decapsulator counts a run after its write, which the sink above may overtake
                        Await.until(Duration.ofSeconds(5), "every packet counted",
                            () -> decap.decapsulated() == runs * perRun && decap.coalesced() == runs - 1);
                        assertEquals(runs, decap.merged(), "each run was one receive");
                        assertEquals(runs - 1, decap.coalesced(), "the one-flow runs went in as one packet each");
                        assertEquals(0, decap.refused());
                        decap.close();
                        receiver.join(TimeUnit.SECONDS.toMillis(2));
                        assertFalse(receiver.isAlive(), "the receiving thread stops on close");
                    }
                }
                return null;
            });
        } finally {
            TunTest.ip("netns", "del", ns);
        }
    }

    /**
     * A run of one TCP connection's consecutive segments (as the node cuts up a sender's TSO burst and sends it with
     * UDP GSO) goes into the TUN device as one TCP super-packet, and the socket at the other end reads every byte of it
     * in order. The connection is made by hand through the TUN device: SYN in, SYN-ACK read out, ACK in.
     */
    @Test
    void aRunOfOneConnectionsSegmentsIsOneTcpSuperPacketAndEveryByte() throws Exception {
        TunTest.assumeTunAndNamespaces();
        String ns = "l4mt-tcp-" + ProcessHandle.current().pid();
        TunTest.ip("netns", "add", ns);
        try {
            NetNamespace.call(ns, () -> {
                try (Tun tun = Tun.open("l4dec2", false, true); Arena arena = Arena.ofConfined();
                     ServerSocket server = new ServerSocket()) {
                    TunTest.ip("-n", ns, "link", "set", "lo", "up");
                    TunTest.ip("-n", ns, "link", "set", "l4dec2", "up");
                    TunTest.ip("-n", ns, "addr", "add", "198.18.253.1/24", "dev", "l4dec2");
                    server.bind(new InetSocketAddress("198.18.253.1", 0));
                    int port = server.getLocalPort();
                    MemorySegment p = arena.allocate(Tun.MAX_PACKET);
                    int clientSeq = 1000;
                    tun.write(p, tcp4(p, 0, port, clientSeq, 0, 0x02, 0));            // SYN
                    int serverSeq = synAckSeq(tun, arena, port);
                    tun.write(p, tcp4(p, 0, port, clientSeq + 1, serverSeq + 1, 0x10, 0));   // ACK
                    server.setSoTimeout(5000);
                    try (Socket accepted = server.accept();
                         GueDecapsulator decap = new GueDecapsulator(new InetSocketAddress("127.0.0.1", 0), tun)) {
                        accepted.setSoTimeout(5000);
                        Thread receiver = Thread.ofPlatform().name("decap-tcp-test").start(decap);
                        int runs = 3;
                        int perRun = 10;
                        int payload = 100;
                        int size = 40 + payload;
                        MemorySegment run = arena.allocate((long) size * perRun);
                        byte[] expected = new byte[runs * perRun * payload];
                        for (int i = 0; i < expected.length; i++) {
                            expected[i] = (byte) ('a' + i % 26);
                        }
                        byte[] got = new byte[expected.length];
                        int read = 0;
                        try (UdpSegmentSender sender = new UdpSegmentSender(arena, size)) {
                            for (int r = 0; r < runs; r++) {
                                for (int i = 0; i < perRun; i++) {
                                    int at = (r * perRun + i) * payload;
                                    MemorySegment seg = run.asSlice((long) i * size, size);
                                    MemorySegment.copy(expected, at, seg, ValueLayout.JAVA_BYTE, 40, payload);
                                    tcp4(seg, 0, port, clientSeq + 1 + at, serverSeq + 1,
                                        i == perRun - 1 ? 0x18 : 0x10, payload);
                                }
                                assertTrue(sender.send(run, decap.localAddress()));
                                int until = (r + 1) * perRun * payload;
                                while (read < until) {
                                    int n = accepted.getInputStream().read(got, read, until - read);
                                    assertTrue(n > 0, "the connection ended early");
                                    read += n;
                                }
                            }
                        }
                        assertArrayEquals(expected, got);
                        // the decapsulator counts a run after its write, which the reader above may overtake
                        Await.until(Duration.ofSeconds(5), "each run went in as one packet",
                            () -> decap.coalesced() == runs && decap.decapsulated() == runs * perRun);
                        decap.close();
                        receiver.join(TimeUnit.SECONDS.toMillis(2));
                    }
                }
                return null;
            });
        } finally {
            TunTest.ip("netns", "del", ns);
        }
    }

    /**
     * Fills the headers of an IPv4 TCP packet from 198.18.253.2:5000 to 198.18.253.1:{@code port} in {@code p} (the
     * {@code payload} bytes after them already in place), checksums included; returns its length.
     */
    private static int tcp4(MemorySegment p, int off, int port, int seq, int ack, int flags, int payload)
            throws Exception {
        int len = 40 + payload;
        MemorySegment.copy(TunTest.udp4("198.18.253.2", 0, "198.18.253.1", 0, ""), 0, p, ValueLayout.JAVA_BYTE, off,
            20);
        p.set(ValueLayout.JAVA_BYTE, off + 9, (byte) 6);
        p.set(PacketParser.U16, off + 2, (short) len);
        Checksums.fillIpv4Header(p, off);
        p.set(PacketParser.U16, off + 20, (short) 5000);
        p.set(PacketParser.U16, off + 22, (short) port);
        p.set(PacketParser.U32, off + 24, seq);
        p.set(PacketParser.U32, off + 28, ack);
        p.set(ValueLayout.JAVA_BYTE, off + 32, (byte) 0x50);
        p.set(ValueLayout.JAVA_BYTE, off + 33, (byte) flags);
        p.set(PacketParser.U16, off + 34, (short) 65535);
        p.set(PacketParser.U32, off + 36, 0);   // checksum and urgent pointer
        long sum = Checksums.sum(p, off + 12, 8) + 6 + (len - 20) + Checksums.sum(p, off + 20, len - 20);
        p.set(PacketParser.U16, off + 36, (short) Checksums.fold(sum));
        return len;
    }

    /** Reads packets out of the TUN device until the server's SYN-ACK; returns its sequence number. */
    private static int synAckSeq(Tun tun, Arena arena, int port) throws Exception {
        MemorySegment in = arena.allocate(Tun.MAX_PACKET);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < deadline) {
            int n = tun.read(in, 200);
            int ip = Offload.HEADER;   // the device has offloads: a virtio_net_hdr comes first
            if (n >= ip + 40 && in.get(ValueLayout.JAVA_BYTE, ip) == 0x45 && in.get(ValueLayout.JAVA_BYTE, ip + 9) == 6
                && (in.get(PacketParser.U16, ip + 20) & 0xFFFF) == port
                && (in.get(ValueLayout.JAVA_BYTE, ip + 33) & 0x12) == 0x12) {
                return in.get(PacketParser.U32, ip + 24);
            }
        }
        throw new AssertionError("no SYN-ACK from the server");
    }
}
