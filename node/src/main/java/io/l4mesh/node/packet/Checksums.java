package io.l4mesh.node.packet;

import java.lang.foreign.MemorySegment;

/** The Internet checksum (RFC 1071) over packet bytes in place. */
public final class Checksums {
    private Checksums() {
    }

    /** Ones' complement sum of {@code length} bytes from {@code offset}, folded and complemented. */
    public static int internet(MemorySegment p, int offset, int length) {
        return fold(sum(p, offset, length));
    }

    /** The ones' complement sum (not folded) of {@code length} bytes from {@code offset}, four at a time. */
    static long sum(MemorySegment p, int offset, int length) {
        long s = 0;
        int i = offset;
        int end = offset + length;
        for (; i + 3 < end; i += 4) {
            s += p.get(PacketParser.U32, i) & 0xFFFFFFFFL;
        }
        if (i + 1 < end) {
            s += p.get(PacketParser.U16, i) & 0xFFFF;
            i += 2;
        }
        if (i < end) {
            s += (p.get(java.lang.foreign.ValueLayout.JAVA_BYTE, i) & 0xFF) << 8;
        }
        return s;
    }

    /** Folds a sum to 16 bits and complements it. */
    static int fold(long s) {
        while ((s >>> 16) != 0) {
            s = (s & 0xFFFF) + (s >>> 16);
        }
        return (int) (~s & 0xFFFF);
    }

    /** Computes and stores the checksum of the IPv4 header at {@code offset}. */
    public static void fillIpv4Header(MemorySegment p, int offset) {
        int ihl = (p.get(java.lang.foreign.ValueLayout.JAVA_BYTE, offset) & 0x0F) * 4;
        p.set(PacketParser.U16, offset + 10, (short) 0);
        p.set(PacketParser.U16, offset + 10, (short) internet(p, offset, ihl));
    }
}
