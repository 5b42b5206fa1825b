package io.l4mesh.node.packet;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Writes ICMP "destination unreachable, fragmentation needed" (type 3, code 4, RFC 1191) about an IPv4 packet, from
 * the packet's destination (the VIP) back to its source (the client), quoting its header and first 8 payload bytes.
 *
 * <pre>
 * | IPv4 (20): VIP -> client, proto 1 | type 3 | code 4 | checksum | unused (2) | next-hop MTU (2) | quote |
 * </pre>
 */
final class IcmpWriter {
    /** 20 (IPv4) + 8 (ICMP) + 60 (largest quoted header) + 8 (quoted payload). */
    static final int MAX_LENGTH = 96;

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
}
