package io.l4mesh.node.packet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Cutting TCP and UDP super-packets as a TUN device with offloads hands them over, checked against packets and
 * checksums computed here byte by byte (not with the class under test).
 */
class OffloadTest {
    private static final int FIN = 0x01;
    private static final int PSH = 0x08;
    private static final int ACK = 0x10;
    private static final int CWR = 0x80;

    @Test
    void anIpv4SuperPacketBecomesSegmentsThatAreEachRightAndTogetherTheWhole() throws Exception {
        byte[] payload = payload(4000);
        byte[] whole = ipv4(tcp(0x01020304, FIN | PSH | ACK | CWR, 12, payload));
        checkSegments(whole, 20, 1448, payload, true);
    }

    @Test
    void anIpv6SuperPacketBecomesSegmentsThatAreEachRightAndTogetherTheWhole() throws Exception {
        byte[] payload = payload(2896);          // exactly two segments: the last is full
        byte[] whole = ipv6(tcp(0xFFFFFF00, PSH | ACK, 0, payload));   // the sequence number wraps
        checkSegments(whole, 40, 1448, payload, false);
    }

    @Test
    void somethingThatIsNotWhatItsHeaderSaysOrIsCutShortIsNotSegmented() throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            byte[] udp = udp4(payload(100));
            assertEquals(-1, Offload.segments(segment(arena, udp), udp.length, Offload.GSO_TCPV4, 1448), "UDP as TCP");
            byte[] tcp = ipv4(tcp(1, ACK, 0, payload(100)));
            assertEquals(-1, Offload.segments(segment(arena, tcp), tcp.length, Offload.GSO_UDP_L4, 1448), "TCP as UDP");
            assertEquals(-1, Offload.segments(segment(arena, tcp), tcp.length, Offload.GSO_TCPV6, 1448), "v4 as v6");
            assertEquals(-1, Offload.segments(segment(arena, tcp), tcp.length, 3, 1448), "UFO, never asked for");
            assertEquals(-1, Offload.segments(segment(arena, tcp), 39, Offload.GSO_TCPV4, 1448), "headers cut short");
            assertEquals(-1, Offload.segments(segment(arena, udp), 27, Offload.GSO_UDP_L4, 1448), "UDP cut short");
            assertEquals(-1, Offload.segments(segment(arena, tcp), tcp.length, Offload.GSO_TCPV4, 0), "no size");
            assertEquals(1, Offload.segments(segment(arena, tcp), tcp.length, Offload.GSO_TCPV4, 1448), "fits in one");
        }
    }

    @Test
    void aUdpSuperPacketBecomesDatagramsThatAreEachRightAndTogetherTheWhole() throws Exception {
        byte[] payload = payload(18 * 40 + 7);           // 40 small datagrams and a short last one
        byte[] whole = udp4(payload);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = segment(arena, whole);
            int count = Offload.segments(src, whole.length, Offload.GSO_UDP_L4, 18);
            assertEquals(41, count);
            ByteArrayOutputStream joined = new ByteArrayOutputStream();
            MemorySegment dst = arena.allocate(65_535);
            for (int k = 0; k < count; k++) {
                int len = Offload.segment(src, whole.length, Offload.GSO_UDP_L4, 18, k, dst);
                byte[] d = dst.asSlice(0, len).toArray(ValueLayout.JAVA_BYTE);
                int chunk = Math.min(18, payload.length - k * 18);
                assertEquals(28 + chunk, len, "datagram " + k + " length");
                ByteBuffer b = ByteBuffer.wrap(d);
                assertEquals(len, b.getShort(2) & 0xFFFF, "IPv4 total length");
                assertEquals((0xFFFE + k) & 0xFFFF, b.getShort(4) & 0xFFFF, "IPv4 id (it wraps)");
                assertEquals(0, fold(sum16(d, 0, 20)), "IPv4 header checksum");
                assertEquals(40000, b.getShort(20) & 0xFFFF, "source port");
                assertEquals(9000, b.getShort(22) & 0xFFFF, "destination port");
                assertEquals(8 + chunk, b.getShort(24) & 0xFFFF, "UDP length");
                assertTrue(b.getShort(26) != 0, "a checksum, not 'none'");
                assertEquals(0, fold(sum16(d, 12, 8) + 17 + (8 + chunk) + sum16(d, 20, 8 + chunk)),
                    "UDP checksum of datagram " + k);
                joined.write(d, 28, chunk);
            }
            assertArrayEquals(payload, joined.toByteArray(), "the datagrams' payloads make the whole");
        }
    }

    @Test
    void aBegunChecksumIsFinished() throws Exception {
        byte[] udpPayload = payload(333);                  // an odd length
        ByteBuffer u = ByteBuffer.allocate(8 + udpPayload.length);
        u.putShort((short) 40000).putShort((short) 53).putShort((short) (8 + udpPayload.length)).putShort((short) 0);
        u.put(udpPayload);
        byte[] p = ipv4(u.array());
        p[9] = 17;
        // what a sender with checksum offload leaves in the field: the pseudo-header's sum, folded, not complemented
        long pseudo = sum16(p, 12, 8) + 17 + (8 + udpPayload.length);
        int begun = (~fold(pseudo)) & 0xFFFF;
        p[20 + 6] = (byte) (begun >>> 8);
        p[20 + 7] = (byte) begun;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = segment(arena, p);
            assertTrue(Offload.completeChecksum(s, p.length, 20, 6));
            byte[] done = s.toArray(ValueLayout.JAVA_BYTE);
            assertEquals(0, fold(sum16(done, 12, 8) + 17 + (8 + udpPayload.length)
                + sum16(done, 20, done.length - 20)), "a valid UDP checksum");
            assertFalse(Offload.completeChecksum(s, p.length, p.length - 1, 6), "a field outside the packet");
        }
    }

    private static void checkSegments(byte[] whole, int ip, int mss, byte[] payload, boolean v4) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = segment(arena, whole);
            int gso = v4 ? Offload.GSO_TCPV4 : Offload.GSO_TCPV6;
            int count = Offload.segments(src, whole.length, gso, mss);
            assertEquals((payload.length + mss - 1) / mss, count);
            int tcpHeader = ((whole[ip + 12] & 0xF0) >>> 4) * 4;
            int seq0 = ByteBuffer.wrap(whole, ip + 4, 4).getInt();
            ByteArrayOutputStream joined = new ByteArrayOutputStream();
            MemorySegment dst = arena.allocate(65_535);
            for (int k = 0; k < count; k++) {
                int len = Offload.segment(src, whole.length, gso, mss, k, dst);
                byte[] seg = dst.asSlice(0, len).toArray(ValueLayout.JAVA_BYTE);
                int chunk = Math.min(mss, payload.length - k * mss);
                assertEquals(ip + tcpHeader + chunk, len, "segment " + k + " length");
                ByteBuffer b = ByteBuffer.wrap(seg);
                if (v4) {
                    assertEquals(len, b.getShort(2) & 0xFFFF, "IPv4 total length");
                    assertEquals((((whole[4] & 0xFF) << 8 | whole[5] & 0xFF) + k) & 0xFFFF, b.getShort(4) & 0xFFFF,
                        "IPv4 id (it wraps)");
                    assertEquals(0, fold(sum16(seg, 0, 20)), "IPv4 header checksum");
                } else {
                    assertEquals(len - 40, b.getShort(4) & 0xFFFF, "IPv6 payload length");
                }
                assertEquals(seq0 + k * mss, b.getInt(ip + 4), "sequence number of segment " + k);
                int flags = seg[ip + 13] & 0xFF;
                boolean last = k == count - 1;
                int original = whole[ip + 13] & 0xFF;
                assertEquals(last ? original & (FIN | PSH) : 0, flags & (FIN | PSH), "FIN and PSH on the last only");
                assertEquals(k == 0 ? original & CWR : 0, flags & CWR, "CWR on the first only");
                assertEquals(ACK, flags & ACK);
                long pseudo = (v4 ? sum16(seg, 12, 8) : sum16(seg, 8, 32)) + 6 + (len - ip);
                assertEquals(0, fold(pseudo + sum16(seg, ip, len - ip)), "TCP checksum of segment " + k);
                assertArrayEquals(java.util.Arrays.copyOfRange(whole, ip + 20, ip + tcpHeader),
                    java.util.Arrays.copyOfRange(seg, ip + 20, ip + tcpHeader), "TCP options copied");
                joined.write(seg, ip + tcpHeader, chunk);
            }
            assertArrayEquals(payload, joined.toByteArray(), "the segments' payloads make the whole");
        }
    }

    private static MemorySegment segment(Arena arena, byte[] bytes) {
        MemorySegment s = arena.allocate(65_535);
        MemorySegment.copy(bytes, 0, s, ValueLayout.JAVA_BYTE, 0, bytes.length);
        return s;
    }

    private static byte[] payload(int n) {
        byte[] p = new byte[n];
        new Random(n).nextBytes(p);
        return p;
    }

    /** A TCP header ({@code options} bytes of NOPs) with the given flags, then the payload. Checksum left 0. */
    private static byte[] tcp(int seq, int flags, int options, byte[] payload) {
        ByteBuffer b = ByteBuffer.allocate(20 + options + payload.length).order(ByteOrder.BIG_ENDIAN);
        b.putShort((short) 41000).putShort((short) 8080).putInt(seq).putInt(7);
        b.put((byte) (((20 + options) / 4) << 4)).put((byte) flags).putShort((short) 512).putInt(0);
        for (int i = 0; i < options; i++) {
            b.put((byte) 1);
        }
        return b.put(payload).array();
    }

    private static byte[] ipv4(byte[] l4) throws Exception {
        ByteBuffer b = ByteBuffer.allocate(20 + l4.length);
        b.put((byte) 0x45).put((byte) 0).putShort((short) (20 + l4.length)).putShort((short) 0xFFFE)
            .putShort((short) 0x4000).put((byte) 64).put((byte) 6).putShort((short) 0);
        b.put(InetAddress.getByName("198.18.0.7").getAddress()).put(InetAddress.getByName("198.18.1.1").getAddress());
        return b.put(l4).array();
    }

    /** An IPv4 UDP datagram from port 40000 to 9000 (checksum left 0), as a UDP super-packet arrives. */
    private static byte[] udp4(byte[] payload) throws Exception {
        ByteBuffer u = ByteBuffer.allocate(8 + payload.length);
        u.putShort((short) 40000).putShort((short) 9000).putShort((short) (8 + payload.length)).putShort((short) 0);
        byte[] p = ipv4(u.put(payload).array());
        p[9] = 17;
        return p;
    }

    private static byte[] ipv6(byte[] l4) throws Exception {
        ByteBuffer b = ByteBuffer.allocate(40 + l4.length);
        b.putInt(0x60000000).putShort((short) l4.length).put((byte) 6).put((byte) 64);
        b.put(InetAddress.getByName("fd00::7").getAddress()).put(InetAddress.getByName("fd00::1:1").getAddress());
        return b.put(l4).array();
    }

    private static long sum16(byte[] p, int off, int len) {
        long s = 0;
        for (int i = 0; i < len; i += 2) {
            int hi = p[off + i] & 0xFF;
            int lo = i + 1 < len ? p[off + i + 1] & 0xFF : 0;
            s += hi << 8 | lo;
        }
        return s;
    }

    /** Folds to 16 bits and complements: 0 for a region whose checksum is right. */
    private static int fold(long s) {
        while ((s >>> 16) != 0) {
            s = (s & 0xFFFF) + (s >>> 16);
        }
        return (int) (~s & 0xFFFF);
    }
}
