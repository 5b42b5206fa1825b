package io.l4mesh.hashring;

/**
 * Seeded hash of a flow's 5-tuple (source address, source port, destination address, destination port,
 * protocol), IPv4 and IPv6. Allocation-free: callers pass the address words, which a packet flyweight or a
 * socket address can supply without copying.
 *
 * <p>IPv4 addresses are hashed in their IPv4-mapped IPv6 form ({@code ::ffff:a.b.c.d}), so a flow hashes the
 * same whichever family its socket reports it in.
 *
 * <p>Algorithm {@link HashAlgorithm#MAGLEV_V1}: five 64-bit lanes (src hi, src lo, dst hi, dst lo,
 * {@code srcPort<<32 | dstPort<<16 | protocol}) folded with XXH64's lane step, seeded, then avalanched.
 */
public final class FlowHash {
    /** IANA protocol numbers. */
    public static final int PROTO_TCP = 6;
    public static final int PROTO_UDP = 17;

    private static final long V4_MAPPED_HI = 0L;
    private static final long V4_MAPPED_PREFIX = 0x0000FFFF_00000000L;

    private FlowHash() {
    }

    /** Hash of an IPv4 flow; addresses are the 32-bit big-endian values. */
    public static long ipv4(long seed, int srcIp, int srcPort, int dstIp, int dstPort, int protocol) {
        return ipv6(seed, V4_MAPPED_HI, V4_MAPPED_PREFIX | (srcIp & 0xFFFFFFFFL), srcPort,
            V4_MAPPED_HI, V4_MAPPED_PREFIX | (dstIp & 0xFFFFFFFFL), dstPort, protocol);
    }

    /** Hash of an IPv6 flow; each address is two big-endian 64-bit halves. */
    public static long ipv6(long seed, long srcHi, long srcLo, int srcPort, long dstHi, long dstLo, int dstPort,
                            int protocol) {
        long h = seed + XxHash64.P5 + 40;
        h = XxHash64.mixLong(h, srcHi);
        h = XxHash64.mixLong(h, srcLo);
        h = XxHash64.mixLong(h, dstHi);
        h = XxHash64.mixLong(h, dstLo);
        long ports = ((long) (srcPort & 0xFFFF) << 32) | ((long) (dstPort & 0xFFFF) << 16) | (protocol & 0xFF);
        h = XxHash64.mixLong(h, ports);
        return XxHash64.avalanche(h);
    }

    /**
     * Hash of a flow given raw addresses (4 or 16 bytes each, network order), for control-plane callers such as
     * "where would this flow go". Both addresses are normalised to 16 bytes.
     */
    public static long of(long seed, byte[] srcAddr, int srcPort, byte[] dstAddr, int dstPort, int protocol) {
        return ipv6(seed, hi(srcAddr), lo(srcAddr), srcPort, hi(dstAddr), lo(dstAddr), dstPort, protocol);
    }

    /** Hash of a source address alone (source-IP affinity). */
    public static long sourceOnly(long seed, byte[] srcAddr) {
        return ipv6(seed, hi(srcAddr), lo(srcAddr), 0, 0, 0, 0, 0);
    }

    /**
     * The hash to use for the {@code attempt}-th fallback choice of a flow (attempt 0 is the flow's own hash).
     * Deterministic, so every node walks the same fallback order.
     */
    public static long fallback(long flowHash, int attempt) {
        if (attempt == 0) {
            return flowHash;
        }
        return XxHash64.avalanche(XxHash64.mixLong(flowHash, attempt));
    }

    static long hi(byte[] a) {
        if (a.length == 4) {
            return V4_MAPPED_HI;
        }
        checkLength(a);
        return word(a, 0);
    }

    static long lo(byte[] a) {
        if (a.length == 4) {
            return V4_MAPPED_PREFIX | ((a[0] & 0xFFL) << 24 | (a[1] & 0xFFL) << 16 | (a[2] & 0xFFL) << 8 | (a[3] & 0xFFL));
        }
        checkLength(a);
        return word(a, 8);
    }

    private static void checkLength(byte[] a) {
        if (a.length != 16) {
            throw new IllegalArgumentException("address must be 4 or 16 bytes, got " + a.length);
        }
    }

    private static long word(byte[] a, int off) {
        long w = 0;
        for (int i = 0; i < 8; i++) {
            w = (w << 8) | (a[off + i] & 0xFFL);
        }
        return w;
    }
}
