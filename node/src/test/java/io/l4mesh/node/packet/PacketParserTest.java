package io.l4mesh.node.packet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.l4mesh.hashring.FlowHash;
import io.l4mesh.hashring.HashAlgorithm;
import io.l4mesh.node.packet.PacketParser.Verdict;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Table-driven: each fixture is a description, packet bytes, the expected verdict and the flow it names. */
class PacketParserTest {
    static final String CLIENT4 = "198.18.0.7";
    static final String VIP4 = "198.18.1.1";
    static final String CLIENT6 = "fd00::7";
    static final String VIP6 = "fd00::1:1";

    /** Builds packets byte by byte, independently of the parser. */
    static final class P {
        static byte[] ipv4(String src, String dst, int proto, int ihlWords, int fragField, byte[] l4, int lengthDelta)
            throws Exception {
            int ihl = Math.max(20, ihlWords * 4);   // a header claiming fewer than 20 bytes still has 20
            ByteBuffer b = ByteBuffer.allocate(ihl + l4.length);
            b.put((byte) (0x40 | ihlWords)).put((byte) 0).putShort((short) (ihl + l4.length + lengthDelta));
            b.putShort((short) 1).putShort((short) fragField).put((byte) 64).put((byte) proto).putShort((short) 0);
            b.put(InetAddress.getByName(src).getAddress()).put(InetAddress.getByName(dst).getAddress());
            while (b.position() < ihl) {
                b.put((byte) 1);   // NOP options
            }
            b.put(l4);
            return b.array();
        }

        static byte[] ipv6(String src, String dst, int next, byte[] payload) throws Exception {
            ByteBuffer b = ByteBuffer.allocate(40 + payload.length);
            b.putInt(0x60000000).putShort((short) payload.length).put((byte) next).put((byte) 64);
            b.put(InetAddress.getByName(src).getAddress()).put(InetAddress.getByName(dst).getAddress());
            b.put(payload);
            return b.array();
        }

        static byte[] tcp(int sport, int dport, int flags) {
            ByteBuffer b = ByteBuffer.allocate(20);
            b.putShort((short) sport).putShort((short) dport).putInt(1).putInt(0);
            b.put((byte) 0x50).put((byte) flags).putShort((short) 1024).putInt(0);
            return b.array();
        }

        static byte[] udp(int sport, int dport) {
            ByteBuffer b = ByteBuffer.allocate(12);
            b.putShort((short) sport).putShort((short) dport).putShort((short) 12).putShort((short) 0).putInt(42);
            return b.array();
        }

        static byte[] icmp(int type, int code, byte[] quoted) {
            ByteBuffer b = ByteBuffer.allocate(8 + quoted.length);
            b.put((byte) type).put((byte) code).putShort((short) 0).putShort((short) 0).putShort((short) 1400);
            b.put(quoted);
            return b.array();
        }

        static byte[] ext(int next, byte[] rest) {
            ByteBuffer b = ByteBuffer.allocate(8 + rest.length);
            b.put((byte) next).put((byte) 0).put(new byte[6]).put(rest);
            return b.array();
        }

        static byte[] first(byte[] a, int n) {
            return java.util.Arrays.copyOf(a, n);
        }
    }

    record Flow(String src, int sport, String dst, int dport, int proto) {
    }

    static Stream<Arguments> fixtures() throws Exception {
        byte[] v4udpFromVip = P.ipv4(VIP4, CLIENT4, 17, 5, 0, P.udp(53, 4000), 0);
        byte[] v6tcpFromVip = P.ipv6(VIP6, CLIENT6, 6, P.tcp(443, 40000, 0x12));
        return Stream.of(
            Arguments.of("IPv4 TCP SYN", P.ipv4(CLIENT4, VIP4, 6, 5, 0, P.tcp(40000, 443, 0x02), 0), Verdict.OK,
                new Flow(CLIENT4, 40000, VIP4, 443, 6)),
            Arguments.of("IPv4 UDP, high ports", P.ipv4(CLIENT4, VIP4, 17, 5, 0, P.udp(50000, 40000), 0), Verdict.OK,
                new Flow(CLIENT4, 50000, VIP4, 40000, 17)),
            Arguments.of("IPv4 with options", P.ipv4(CLIENT4, VIP4, 17, 7, 0, P.udp(1, 2), 0), Verdict.IP_OPTIONS,
                new Flow(CLIENT4, 1, VIP4, 2, 17)),
            Arguments.of("IPv4 first fragment (MF)", P.ipv4(CLIENT4, VIP4, 17, 5, 0x2000, P.udp(1, 2), 0),
                Verdict.FRAGMENT, null),
            Arguments.of("IPv4 later fragment", P.ipv4(CLIENT4, VIP4, 17, 5, 0x0010, P.udp(1, 2), 0),
                Verdict.FRAGMENT, null),
            Arguments.of("IPv4 DF set is not a fragment", P.ipv4(CLIENT4, VIP4, 17, 5, 0x4000, P.udp(1, 2), 0),
                Verdict.OK, new Flow(CLIENT4, 1, VIP4, 2, 17)),
            Arguments.of("IPv4 length beyond the bytes", P.ipv4(CLIENT4, VIP4, 17, 5, 0, P.udp(1, 2), 10),
                Verdict.TRUNCATED, null),
            Arguments.of("IPv4 header cut", P.first(P.ipv4(CLIENT4, VIP4, 17, 5, 0, P.udp(1, 2), 0), 19),
                Verdict.TRUNCATED, null),
            Arguments.of("IPv4 TCP header cut before flags", P.first(P.ipv4(CLIENT4, VIP4, 6, 5, 0,
                P.first(P.tcp(1, 2, 2), 10), 0), 30), Verdict.TRUNCATED, null),
            Arguments.of("IPv4 IHL below 5", P.ipv4(CLIENT4, VIP4, 17, 4, 0, P.udp(1, 2), 0), Verdict.MALFORMED, null),
            Arguments.of("IP version 5", patch(P.ipv4(CLIENT4, VIP4, 17, 5, 0, P.udp(1, 2), 0), 0, 0x55),
                Verdict.MALFORMED, null),
            Arguments.of("ICMP echo", P.ipv4(CLIENT4, VIP4, 1, 5, 0, P.icmp(8, 0, new byte[8]), 0),
                Verdict.UNSUPPORTED, null),
            Arguments.of("GRE", P.ipv4(CLIENT4, VIP4, 47, 5, 0, new byte[8], 0), Verdict.UNSUPPORTED, null),
            Arguments.of("ICMP frag needed about a DSR reply", P.ipv4("198.18.9.9", VIP4, 1, 5, 0,
                P.icmp(3, 4, P.first(v4udpFromVip, 28)), 0), Verdict.ICMP_ERROR, new Flow(CLIENT4, 4000, VIP4, 53, 17)),
            Arguments.of("ICMP quoting garbage", P.ipv4("198.18.9.9", VIP4, 1, 5, 0, P.icmp(3, 4, new byte[28]), 0),
                Verdict.MALFORMED, null),
            Arguments.of("IPv6 TCP", P.ipv6(CLIENT6, VIP6, 6, P.tcp(40000, 443, 0x10)), Verdict.OK,
                new Flow(CLIENT6, 40000, VIP6, 443, 6)),
            Arguments.of("IPv6 hop-by-hop then UDP", P.ipv6(CLIENT6, VIP6, 0, P.ext(17, P.udp(5, 6))), Verdict.OK,
                new Flow(CLIENT6, 5, VIP6, 6, 17)),
            Arguments.of("IPv6 fragment header", P.ipv6(CLIENT6, VIP6, 44, P.ext(17, P.udp(5, 6))), Verdict.FRAGMENT,
                null),
            Arguments.of("IPv6 payload length beyond the bytes", P.first(P.ipv6(CLIENT6, VIP6, 17, P.udp(5, 6)), 45),
                Verdict.TRUNCATED, null),
            Arguments.of("ICMPv6 packet too big about a DSR reply", P.ipv6("fd00::99", VIP6, 58,
                P.icmp(2, 0, P.first(v6tcpFromVip, 48))), Verdict.ICMP_ERROR, new Flow(CLIENT6, 40000, VIP6, 443, 6)),
            Arguments.of("empty", new byte[0], Verdict.TRUNCATED, null));
    }

    static byte[] patch(byte[] b, int at, int value) {
        b[at] = (byte) value;
        return b;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("fixtures")
    void fixture(String description, byte[] packet, Verdict verdict, Flow flow) throws Exception {
        PacketParser p = new PacketParser();
        MemorySegment seg = MemorySegment.ofArray(packet.length == 0 ? new byte[1] : packet);
        assertEquals(verdict, p.parse(seg, packet.length), description);
        if (flow != null) {
            byte[] src = InetAddress.getByName(flow.src()).getAddress();
            byte[] dst = InetAddress.getByName(flow.dst()).getAddress();
            long seed = HashAlgorithm.MAGLEV_V1.flowSeed();
            assertEquals(FlowHash.of(seed, src, flow.sport(), dst, flow.dport(), flow.proto()), p.flowHash(seed),
                description + ": the packet path hashes the flow as the socket path does");
            assertEquals(flow.sport(), p.srcPort());
            assertEquals(flow.dport(), p.dstPort());
            assertEquals(flow.proto(), p.protocol());
        }
    }

    @Test
    void synIsRecognised() throws Exception {
        PacketParser p = new PacketParser();
        byte[] syn = P.ipv4(CLIENT4, VIP4, 6, 5, 0, P.tcp(1, 2, 0x02), 0);
        byte[] synAck = P.ipv4(CLIENT4, VIP4, 6, 5, 0, P.tcp(1, 2, 0x12), 0);
        p.parse(MemorySegment.ofArray(syn), syn.length);
        assertTrue(p.isSyn());
        p.parse(MemorySegment.ofArray(synAck), synAck.length);
        assertTrue(!p.isSyn());
    }

    @Test
    void hostileBytesNeverThrow() {
        PacketParser p = new PacketParser();
        Random r = new Random(9);
        byte[] buf = new byte[128];
        MemorySegment seg = MemorySegment.ofArray(buf);
        int[] seen = new int[Verdict.values().length];
        for (int i = 0; i < 200_000; i++) {
            r.nextBytes(buf);
            buf[0] = (byte) ((r.nextBoolean() ? 0x40 : 0x60) | (buf[0] & 0x0F));
            Verdict v = p.parse(seg, r.nextInt(buf.length + 1));
            assertNotNull(v);
            seen[v.ordinal()]++;
        }
        assertTrue(seen[Verdict.TRUNCATED.ordinal()] > 0 && seen[Verdict.MALFORMED.ordinal()] > 0);
    }
}
