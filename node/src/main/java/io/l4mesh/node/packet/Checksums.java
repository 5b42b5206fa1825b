package io.l4mesh.node.packet;

import java.lang.foreign.MemorySegment;

/** The Internet checksum (RFC 1071) over packet bytes in place. */
public final class Checksums {
    private static final java.lang.foreign.ValueLayout.OfLong U64_LE = java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED
        .withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    private Checksums() {
    }

    /** Ones' complement sum of {@code length} bytes from {@code offset}, folded and complemented. */
    public static int internet(MemorySegment p, int offset, int length) {
        return fold(sum(p, offset, length));
    }

    /**
     * The ones' complement sum (not folded) of {@code length} bytes from {@code offset}. The bulk goes eight bytes at a
     * time in little-endian order, which sums the same 16-bit words byte-swapped (RFC 1071's byte-order independence):
     * that part is folded and swapped back before the tail is added in network order.
     */
    static long sum(MemorySegment p, int offset, int length) {
        long le = 0;
        int i = offset;
        int end = offset + length;
        for (; i + 7 < end; i += 8) {
            long w = p.get(U64_LE, i);
            le += (w & 0xFFFFFFFFL) + (w >>> 32);   // at most 2^33 per step: no overflow below 2^30 steps
        }
        long s = swap16(fold16(le));
        for (; i + 1 < end; i += 2) {
            s += p.get(PacketParser.U16, i) & 0xFFFF;
        }
        if (i < end) {
            s += (p.get(java.lang.foreign.ValueLayout.JAVA_BYTE, i) & 0xFF) << 8;
        }
        return s;
    }

    /** Folds a sum to 16 bits, not complemented. */
    private static long fold16(long s) {
        while ((s >>> 16) != 0) {
            s = (s & 0xFFFF) + (s >>> 16);
        }
        return s;
    }

    private static long swap16(long v) {
        return (v & 0xFF) << 8 | v >>> 8;
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
