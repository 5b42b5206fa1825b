package io.l4mesh.node.packet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A real TUN device through FFM, in a network namespace this test makes and removes: a datagram sent by a socket in
 * the namespace comes out of the TUN as a raw IPv4 packet the parser reads, and a packet written into the TUN
 * reaches that socket; with offloads, a run of datagrams sent with UDP segmentation comes out as one super-packet
 * that cuts back into them. Root only; skipped elsewhere with the reason.
 */
@Tag("slow")
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TunTest {
    static void ip(String... args) throws Exception {
        Commands.ip(args);
    }

    /** Skips the test, with the reason, unless it runs as root with a TUN device and the ip command. */
    static void assumeTunAndNamespaces() {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs root (CAP_NET_ADMIN)");
        Assumptions.assumeTrue(Files.exists(Path.of("/dev/net/tun")), "no /dev/net/tun here");
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/sbin/ip")) || Files.isExecutable(Path.of("/sbin/ip"))
            || Files.isExecutable(Path.of("/usr/bin/ip")), "no ip command (iproute2) here");
    }

    @Test
    void packetsGoThroughATunDeviceBothWays() throws Exception {
        assumeTunAndNamespaces();
        String ns = "l4mt-" + ProcessHandle.current().pid();
        ip("netns", "add", ns);
        try {
            NetNamespace.call(ns, () -> {
                try (Tun tun = Tun.open("l4tun0", false); Arena arena = Arena.ofConfined()) {
                    ip("-n", ns, "link", "set", "lo", "up");
                    ip("-n", ns, "link", "set", "l4tun0", "up");
                    ip("-n", ns, "addr", "add", "198.18.250.1/24", "dev", "l4tun0");
                    try (DatagramSocket sock = new DatagramSocket(new InetSocketAddress("198.18.250.1", 0))) {
                        sock.setSoTimeout(5000);
                        byte[] ping = "ping".getBytes(StandardCharsets.US_ASCII);
                        sock.send(new DatagramPacket(ping, ping.length, InetAddress.getByName("198.18.250.2"), 9999));

                        MemorySegment buf = arena.allocate(Tun.MAX_PACKET);
                        PacketParser parser = new PacketParser();
                        int n;
                        PacketParser.Verdict v;
                        do {   // skip anything else the kernel sends (none expected with IPv6 off)
                            n = tun.read(buf, 2000);
                            assertTrue(n > 0, "a packet came out of the TUN");
                            v = parser.parse(buf, n);
                        } while (v != PacketParser.Verdict.OK || parser.protocol() != 17);
                        assertEquals(4, parser.version());
                        assertEquals(sock.getLocalPort(), parser.srcPort());
                        assertEquals(9999, parser.dstPort());
                        int payloadAt = parser.l4Offset() + 8;
                        byte[] payload = buf.asSlice(payloadAt, n - payloadAt).toArray(ValueLayout.JAVA_BYTE);
                        assertEquals("ping", new String(payload, StandardCharsets.US_ASCII));

                        byte[] reply = udp4("198.18.250.2", 9999, "198.18.250.1", sock.getLocalPort(), "pong");
                        MemorySegment out = arena.allocate(reply.length);
                        MemorySegment.copy(reply, 0, out, ValueLayout.JAVA_BYTE, 0, reply.length);
                        Checksums.fillIpv4Header(out, 0);
                        tun.write(out, reply.length);
                        DatagramPacket got = new DatagramPacket(new byte[64], 64);
                        sock.receive(got);
                        assertEquals("pong", new String(got.getData(), 0, got.getLength(), StandardCharsets.US_ASCII));
                        assertEquals(9999, got.getPort());
                    }
                }
                return null;
            });
        } finally {
            ip("netns", "del", ns);
        }
    }

    @Test
    void aRunOfDatagramsComesOutAsOneUdpSuperPacketThatCutsBackIntoThem() throws Exception {
        assumeTunAndNamespaces();
        String ns = "l4mu-" + ProcessHandle.current().pid();
        ip("netns", "add", ns);
        try {
            NetNamespace.call(ns, () -> {
                try (Tun tun = Tun.open("l4tun1", false, true); Arena arena = Arena.ofConfined()) {
                    ip("-n", ns, "link", "set", "lo", "up");
                    ip("-n", ns, "link", "set", "l4tun1", "up");
                    ip("-n", ns, "addr", "add", "198.18.250.1/24", "dev", "l4tun1");
                    int size = 18;
                    int count = 40;
                    MemorySegment run = arena.allocate(size * count + 5);     // and a short last datagram
                    for (int i = 0; i < run.byteSize(); i++) {
                        run.set(ValueLayout.JAVA_BYTE, i, (byte) ('a' + i % 26));
                    }
                    try (UdpSegmentSender sender = new UdpSegmentSender(arena, size)) {
                        assertTrue(sender.send(run, new InetSocketAddress("198.18.250.2", 9999)));
                    }
                    MemorySegment read = arena.allocate(Offload.HEADER + Tun.MAX_PACKET);
                    MemorySegment packet = read.asSlice(Offload.HEADER);
                    MemorySegment datagram = arena.allocate(Tun.MAX_PACKET);
                    java.io.ByteArrayOutputStream payloads = new java.io.ByteArrayOutputStream();
                    int reads = 0;
                    while (payloads.size() < run.byteSize()) {
                        int n = tun.read(read, 2000) - Offload.HEADER;
                        assertTrue(n > 0, "the run came out of the TUN (" + payloads.size() + " bytes so far)");
                        if (packet.get(ValueLayout.JAVA_BYTE, 9) != 17) {
                            continue;   // not ours (none expected with IPv6 off)
                        }
                        reads++;
                        int gso = Offload.gsoType(read);
                        int segments = gso == Offload.GSO_NONE ? 1
                            : Offload.segments(packet, n, gso, Offload.gsoSize(read));
                        assertTrue(segments > 0, "a UDP super-packet the node can cut, gso type " + gso);
                        for (int k = 0; k < segments; k++) {
                            int len = gso == Offload.GSO_NONE ? n
                                : Offload.segment(packet, n, gso, Offload.gsoSize(read), k, datagram);
                            MemorySegment d = gso == Offload.GSO_NONE ? packet : datagram;
                            assertEquals(len, d.get(PacketParser.U16, 2) & 0xFFFF, "IPv4 length");
                            assertEquals(0, Checksums.internet(d, 0, 20), "IPv4 header checksum");
                            assertEquals(9999, d.get(PacketParser.U16, 22) & 0xFFFF);
                            if (gso != Offload.GSO_NONE) {   // a cut datagram's checksum is complete
                                long pseudo = Checksums.sum(d, 12, 8) + 17 + (len - 20);
                                assertEquals(0, Checksums.fold(pseudo + Checksums.sum(d, 20, len - 20)),
                                    "UDP checksum of datagram " + k);
                            }
                            payloads.write(d.asSlice(28, len - 28).toArray(ValueLayout.JAVA_BYTE));
                        }
                    }
                    org.junit.jupiter.api.Assertions.assertArrayEquals(run.toArray(ValueLayout.JAVA_BYTE),
                        payloads.toByteArray(), "every datagram, in order");
                    if (tun.udpOffload()) {   // Linux 6.2 and later
                        assertEquals(1, reads, "a device with UDP offloads hands the run over in one read");
                    }
                }
                return null;
            });
        } finally {
            ip("netns", "del", ns);
        }
    }

    static byte[] udp4(String src, int sport, String dst, int dport, String payload) throws Exception {
        byte[] data = payload.getBytes(StandardCharsets.US_ASCII);
        ByteBuffer b = ByteBuffer.allocate(28 + data.length);
        b.put((byte) 0x45).put((byte) 0).putShort((short) (28 + data.length)).putShort((short) 7)
            .putShort((short) 0x4000).put((byte) 64).put((byte) 17).putShort((short) 0);
        b.put(InetAddress.getByName(src).getAddress()).put(InetAddress.getByName(dst).getAddress());
        b.putShort((short) sport).putShort((short) dport).putShort((short) (8 + data.length)).putShort((short) 0);
        b.put(data);
        return b.array();
    }
}
