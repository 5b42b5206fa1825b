package io.l4mesh.node.packet;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Writes ICMP "destination unreachable, fragmentation needed" (type 3, code 4, RFC 1191) about an IPv4 packet, from
 * the packet's destination (the VIP) back to its source (the client), quoting its header and first 8 payload bytes;
 * and ICMPv6 "packet too big" (type 2, RFC 4443, 8201) about an IPv6 packet, quoting as much of it as fits in the
 * IPv6 minimum MTU.
 *
 * <pre>
 * | IPv4 (20): VIP -> client, proto 1 | type 3 | code 4 | checksum | unused (2) | next-hop MTU (2) | quote |
 * | IPv6 (40): VIP -> client, next 58 | type 2 | code 0 | checksum | MTU (4) | quote (up to 1232)      |
 * </pre>
 */
final class IcmpWriter {
    /** IPv4: 20 + 8 + 60 (largest quoted header) + 8 (quoted payload); IPv6: the minimum MTU, 1280. */
    static final int MAX_LENGTH = 1280;
    /** IPv6's minimum MTU: an ICMPv6 error never exceeds it, and no path MTU below it is announced. */
    static final int IPV6_MIN_MTU = 1280;

    private IcmpWriter() {
    }

    static boolean dontFragment(MemorySegment p) {
        return (p.get(PacketParser.U16, 6) & 0x4000) != 0;
    }

    /** The quoted packet's source address (where the ICMP goes). */
    static int source(MemorySegment p) {
        return p.get(PacketParser.U32, 12);
    }

    /** Writes the ICMP packet into {@code out}; returns its length. */
    static int fragmentationNeeded(MemorySegment out, MemorySegment packet, int nextHopMtu) {
        int ihl = (packet.get(ValueLayout.JAVA_BYTE, 0) & 0x0F) * 4;
        int quote = Math.min(ihl + 8, (int) Math.min(packet.byteSize(), packet.get(PacketParser.U16, 2) & 0xFFFF));
        int total = 28 + quote;
        out.set(ValueLayout.JAVA_BYTE, 0, (byte) 0x45);
        out.set(ValueLayout.JAVA_BYTE, 1, (byte) 0xC0);                 // internetwork control
        out.set(PacketParser.U16, 2, (short) total);
        out.set(PacketParser.U16, 4, (short) 0);
        out.set(PacketParser.U16, 6, (short) 0);
        out.set(ValueLayout.JAVA_BYTE, 8, (byte) 64);
        out.set(ValueLayout.JAVA_BYTE, 9, (byte) 1);
        out.set(PacketParser.U16, 10, (short) 0);
        out.set(PacketParser.U32, 12, packet.get(PacketParser.U32, 16));   // from the VIP
        out.set(PacketParser.U32, 16, packet.get(PacketParser.U32, 12));   // to the client
        Checksums.fillIpv4Header(out, 0);
        out.set(ValueLayout.JAVA_BYTE, 20, (byte) 3);
        out.set(ValueLayout.JAVA_BYTE, 21, (byte) 4);
        out.set(PacketParser.U16, 22, (short) 0);
        out.set(PacketParser.U16, 24, (short) 0);
        out.set(PacketParser.U16, 26, (short) nextHopMtu);
        MemorySegment.copy(packet, 0, out, 28, quote);
        out.set(PacketParser.U16, 22, (short) Checksums.internet(out, 20, 8 + quote));
        return total;
    }

    /** Writes ICMPv6 "packet too big" about the IPv6 packet of {@code length} bytes in {@code packet}. */
    static int packetTooBig(MemorySegment out, MemorySegment packet, int length, int mtu) {
        int quote = Math.min(length, IPV6_MIN_MTU - 48);
        int icmpLength = 8 + quote;
        out.set(PacketParser.U32, 0, 0x60000000);
        out.set(PacketParser.U16, 4, (short) icmpLength);
        out.set(ValueLayout.JAVA_BYTE, 6, (byte) 58);
        out.set(ValueLayout.JAVA_BYTE, 7, (byte) 64);
        MemorySegment.copy(packet, 24, out, 8, 16);     // from the VIP (the packet's destination)
        MemorySegment.copy(packet, 8, out, 24, 16);     // to the client
        out.set(ValueLayout.JAVA_BYTE, 40, (byte) 2);
        out.set(ValueLayout.JAVA_BYTE, 41, (byte) 0);
        out.set(PacketParser.U16, 42, (short) 0);
        out.set(PacketParser.U32, 44, Math.max(IPV6_MIN_MTU, mtu));
        MemorySegment.copy(packet, 0, out, 48, quote);
        // checksum over the pseudo-header (addresses, upper-layer length, next header) and the message
        long sum = 0;
        for (int i = 8; i < 40; i += 2) {
            sum += out.get(PacketParser.U16, i) & 0xFFFF;
        }
        sum += icmpLength + 58;
        int folded = Checksums.internet(out, 40, icmpLength);   // complemented sum of the message
        sum += ~folded & 0xFFFF;
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xFFFF) + (sum >>> 16);
        }
        out.set(PacketParser.U16, 42, (short) (~sum & 0xFFFF));
        return 40 + icmpLength;
    }
}
