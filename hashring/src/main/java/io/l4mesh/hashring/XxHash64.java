package io.l4mesh.hashring;

import java.nio.charset.StandardCharsets;

/**
 * XXH64, the 64-bit xxHash by Yann Collet, as specified in xxhash_spec.md. Seeded, stable across JVMs and
 * platforms (little-endian reads regardless of the machine), no allocation.
 *
 * <p>Also exposes the primitives the flow hash and the table fingerprint build on, so that every hash in this
 * module comes from one well-specified function family.
 */
public final class XxHash64 {
    static final long P1 = 0x9E3779B185EBCA87L;
    static final long P2 = 0xC2B2AE3D27D4EB4FL;
    static final long P3 = 0x165667B19E3779F9L;
    static final long P4 = 0x85EBCA77C2B2AE63L;
    static final long P5 = 0x27D4EB2F165667C5L;

    private XxHash64() {
    }

    /** XXH64 of the UTF-8 bytes of {@code s}. */
    public static long hash(String s, long seed) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return hash(b, 0, b.length, seed);
    }

    /** XXH64 of {@code len} bytes of {@code b} from {@code off}. */
    public static long hash(byte[] b, int off, int len, long seed) {
        int p = off;
        int end = off + len;
        long h;
        if (len >= 32) {
            long v1 = seed + P1 + P2;
            long v2 = seed + P2;
            long v3 = seed;
            long v4 = seed - P1;
            int limit = end - 32;
            do {
                v1 = round(v1, readLong(b, p));
                v2 = round(v2, readLong(b, p + 8));
                v3 = round(v3, readLong(b, p + 16));
                v4 = round(v4, readLong(b, p + 24));
                p += 32;
            } while (p <= limit);
            h = Long.rotateLeft(v1, 1) + Long.rotateLeft(v2, 7) + Long.rotateLeft(v3, 12) + Long.rotateLeft(v4, 18);
            h = mergeRound(h, v1);
            h = mergeRound(h, v2);
            h = mergeRound(h, v3);
            h = mergeRound(h, v4);
        } else {
            h = seed + P5;
        }
        h += len;
        while (p + 8 <= end) {
            h = mixLong(h, readLong(b, p));
            p += 8;
        }
        if (p + 4 <= end) {
            h ^= (readInt(b, p) & 0xFFFFFFFFL) * P1;
            h = Long.rotateLeft(h, 23) * P2 + P3;
            p += 4;
        }
        while (p < end) {
            h ^= (b[p] & 0xFFL) * P5;
            h = Long.rotateLeft(h, 11) * P1;
            p++;
        }
        return avalanche(h);
    }

    /** Folds one 64-bit lane into a running XXH64 state (the spec's 8-byte tail step). */
    static long mixLong(long h, long lane) {
        h ^= round(0, lane);
        return Long.rotateLeft(h, 27) * P1 + P4;
    }

    /** The XXH64 final avalanche. */
    static long avalanche(long h) {
        h ^= h >>> 33;
        h *= P2;
        h ^= h >>> 29;
        h *= P3;
        h ^= h >>> 32;
        return h;
    }

    private static long round(long acc, long input) {
        acc += input * P2;
        acc = Long.rotateLeft(acc, 31);
        return acc * P1;
    }

    private static long mergeRound(long acc, long val) {
        acc ^= round(0, val);
        return acc * P1 + P4;
    }

    private static long readLong(byte[] b, int p) {
        return (b[p] & 0xFFL)
            | (b[p + 1] & 0xFFL) << 8
            | (b[p + 2] & 0xFFL) << 16
            | (b[p + 3] & 0xFFL) << 24
            | (b[p + 4] & 0xFFL) << 32
            | (b[p + 5] & 0xFFL) << 40
            | (b[p + 6] & 0xFFL) << 48
            | (b[p + 7] & 0xFFL) << 56;
    }

    private static int readInt(byte[] b, int p) {
        return (b[p] & 0xFF) | (b[p + 1] & 0xFF) << 8 | (b[p + 2] & 0xFF) << 16 | (b[p + 3] & 0xFF) << 24;
    }
}
