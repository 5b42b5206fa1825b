package io.l4mesh.node.packet;

import java.lang.foreign.MemorySegment;

/** The Internet checksum (RFC 1071) over packet bytes in place. */
public final class Checksums {
    private Checksums() {
    }

    /** Ones' complement sum of {@code length} bytes from {@code offset}, folded and complemented. */
    public static int internet(MemorySegment p, int offset, int length) {
        long sum = 0;
        int i = offset;
        int end = offset + length;
        for (; i + 1 < end; i += 2) {
            sum += p.get(PacketParser.U16, i) & 0xFFFF;
        }
        if (i < end) {
            sum += (p.get(java.lang.foreign.ValueLayout.JAVA_BYTE, i) & 0xFF) << 8;
        }
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xFFFF) + (sum >>> 16);
        }
        return (int) (~sum & 0xFFFF);
    }

    /** Computes and stores the checksum of the IPv4 header at {@code offset}. */
    public static void fillIpv4Header(MemorySegment p, int offset) {
        int ihl = (p.get(java.lang.foreign.ValueLayout.JAVA_BYTE, offset) & 0x0F) * 4;
        p.set(PacketParser.U16, offset + 10, (short) 0);
        p.set(PacketParser.U16, offset + 10, (short) internet(p, offset, ihl));
    }
}
