package io.l4mesh.node.packet;

import io.l4mesh.hashring.FlowHash;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Parses an IP packet in place and exposes its flow: a flyweight whose fields are overwritten by every
 * {@link #parse} (no object per packet). Every length is checked against the bytes actually there: a hostile
 * packet yields a {@link Verdict}, never an exception.
 *
 * <pre>
 * IPv4 (RFC 791)                              IPv6 (RFC 8200)
 *  0       4       8              16      31    0       4           12          31
 * +-------+-------+--------------+--------+    +-------+-----------+-----------+
 * |version|  IHL  |     TOS      | length |    |version|   class   |   flow    |
 * |   identification   |flags|  offset   |    |  payload length   |next | hops|
 * |  TTL  | protocol   |     checksum     |    |  source (16 bytes)            |
 * |  source            |  destination     |    |  destination (16 bytes)       |
 * </pre>
 *
 * <p>ICMP errors (IPv4 destination unreachable / fragmentation needed, ICMPv6 packet too big) carry the start of
 * the packet that caused them; the parser reports the flow of that packet, turned around, so the error can follow
 * the flow to its backend ({@link Verdict#ICMP_ERROR}).
 *
 * <p>Threading: one instance per packet thread.
 */
public final class PacketParser {
    /** What the parser made of a packet. */
    public enum Verdict {
        /** TCP or UDP: flow fields are set. */
        OK,
        /** An ICMP error about a TCP/UDP flow: flow fields are that flow's (client to VIP). */
        ICMP_ERROR,
        /** Shorter than its headers claim. */
        TRUNCATED,
        /** Not IPv4 or IPv6, or a header field is impossible. */
        MALFORMED,
        /** An IPv4 or IPv6 fragment: no ports to hash. */
        FRAGMENT,
        /** IPv4 with options (IHL above 5): parsed, flow fields set, counted apart. */
        IP_OPTIONS,
        /** Another protocol (or ICMP that is not an error about a flow). */
        UNSUPPORTED
    }

    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    static final long V4_MAPPED = 0x0000FFFF_00000000L;
    static final int PROTO_ICMP = 1;
    static final int PROTO_ICMPV6 = 58;
    static final int MAX_EXT_HEADERS = 8;

    private int version;
    private int protocol;
    private int l4Offset;
    private int tcpFlags;
    private long srcHi;
    private long srcLo;
    private long dstHi;
    private long dstLo;
    private int srcPort;
    private int dstPort;

    /** Parses the first {@code length} bytes of {@code pkt}. */
    public Verdict parse(MemorySegment pkt, int length) {
        tcpFlags = 0;
        srcPort = 0;
        dstPort = 0;
        if (length < 1 || length > pkt.byteSize()) {
            return Verdict.TRUNCATED;
        }
        int v = (pkt.get(ValueLayout.JAVA_BYTE, 0) & 0xF0) >>> 4;
        Verdict r = switch (v) {
            case 4 -> ipv4(pkt, 0, length, true);
            case 6 -> ipv6(pkt, 0, length, true);
            default -> Verdict.MALFORMED;
        };
        return r;
    }

    private Verdict ipv4(MemorySegment p, int at, int end, boolean outer) {
        if (end - at < 20) {
            return Verdict.TRUNCATED;
        }
        version = 4;
        int ihl = (p.get(ValueLayout.JAVA_BYTE, at) & 0x0F) * 4;
        int total = u16(p, at + 2);
        if (ihl < 20 || total < ihl) {
            return Verdict.MALFORMED;
        }
        if (outer && total > end - at) {
            return Verdict.TRUNCATED;
        }
        int l3End = outer ? at + total : end;   // an ICMP-quoted header is cut short on purpose
        protocol = p.get(ValueLayout.JAVA_BYTE, at + 9) & 0xFF;
        srcHi = 0;
        srcLo = V4_MAPPED | (p.get(U32, at + 12) & 0xFFFFFFFFL);
        dstHi = 0;
        dstLo = V4_MAPPED | (p.get(U32, at + 16) & 0xFFFFFFFFL);
        int frag = u16(p, at + 6);
        if ((frag & 0x3FFF) != 0) {
            return Verdict.FRAGMENT;   // more-fragments set, or a non-zero offset
        }
        if (ihl > end - at) {
            return Verdict.TRUNCATED;
        }
        l4Offset = at + ihl;
        if (protocol == PROTO_ICMP && outer) {
            return icmp4(p, l4Offset, l3End);
        }
        Verdict ports = ports(p, l4Offset, l3End, outer);
        return ports == Verdict.OK && ihl > 20 ? Verdict.IP_OPTIONS : ports;
    }

    private Verdict ipv6(MemorySegment p, int at, int end, boolean outer) {
        if (end - at < 40) {
            return Verdict.TRUNCATED;
        }
        version = 6;
        int payload = u16(p, at + 4);
        if (outer && payload > end - at - 40) {
            return Verdict.TRUNCATED;
        }
        int l3End = outer ? at + 40 + payload : end;
        srcHi = p.get(U64, at + 8);
        srcLo = p.get(U64, at + 16);
        dstHi = p.get(U64, at + 24);
        dstLo = p.get(U64, at + 32);
        int next = p.get(ValueLayout.JAVA_BYTE, at + 6) & 0xFF;
        int off = at + 40;
        for (int i = 0; i < MAX_EXT_HEADERS; i++) {
            switch (next) {
                case 0, 43, 60 -> {                // hop-by-hop, routing, destination options
                    if (l3End - off < 8) {
                        return Verdict.TRUNCATED;
                    }
                    next = p.get(ValueLayout.JAVA_BYTE, off) & 0xFF;
                    off += 8 + (p.get(ValueLayout.JAVA_BYTE, off + 1) & 0xFF) * 8;
                }
                case 44 -> {
                    protocol = next;
                    return Verdict.FRAGMENT;
                }
                default -> {
                    protocol = next;
                    l4Offset = off;
                    if (protocol == PROTO_ICMPV6 && outer) {
                        return icmp6(p, off, l3End);
                    }
                    return ports(p, off, l3End, outer);
                }
            }
        }
        return Verdict.UNSUPPORTED;
    }

    /** Ports (and, outside ICMP quotes, which hold only 8 bytes of it, the TCP flags). */
    private Verdict ports(MemorySegment p, int off, int end, boolean outer) {
        if (protocol != FlowHash.PROTO_TCP && protocol != FlowHash.PROTO_UDP) {
            return Verdict.UNSUPPORTED;
        }
        boolean flags = outer && protocol == FlowHash.PROTO_TCP;
        if (end - off < (flags ? 14 : 4)) {
            return Verdict.TRUNCATED;
        }
        srcPort = u16(p, off);
        dstPort = u16(p, off + 2);
        if (flags) {
            tcpFlags = p.get(ValueLayout.JAVA_BYTE, off + 13) & 0xFF;
        }
        return Verdict.OK;
    }

    /** ICMP destination unreachable (type 3): the quoted packet's flow, turned around. */
    private Verdict icmp4(MemorySegment p, int off, int end) {
        if (end - off < 8) {
            return Verdict.TRUNCATED;
        }
        int type = p.get(ValueLayout.JAVA_BYTE, off) & 0xFF;
        if (type != 3 && type != 11) {
            return Verdict.UNSUPPORTED;
        }
        return quoted(p, off + 8, end, 4);
    }

    /** ICMPv6 packet too big (type 2) or destination unreachable (1): the quoted packet's flow, turned around. */
    private Verdict icmp6(MemorySegment p, int off, int end) {
        if (end - off < 8) {
            return Verdict.TRUNCATED;
        }
        int type = p.get(ValueLayout.JAVA_BYTE, off) & 0xFF;
        if (type != 1 && type != 2 && type != 3) {
            return Verdict.UNSUPPORTED;
        }
        return quoted(p, off + 8, end, 6);
    }

    private Verdict quoted(MemorySegment p, int at, int end, int expectVersion) {
        if (end - at < 1 || (p.get(ValueLayout.JAVA_BYTE, at) & 0xF0) >>> 4 != expectVersion) {
            return end - at < 1 ? Verdict.TRUNCATED : Verdict.MALFORMED;
        }
        Verdict inner = expectVersion == 4 ? ipv4(p, at, end, false) : ipv6(p, at, end, false);
        if (inner != Verdict.OK && inner != Verdict.IP_OPTIONS) {
            return inner == Verdict.UNSUPPORTED ? Verdict.UNSUPPORTED : inner;
        }
        long h = srcHi;
        long l = srcLo;
        srcHi = dstHi;
        srcLo = dstLo;
        dstHi = h;
        dstLo = l;
        int sp = srcPort;
        srcPort = dstPort;
        dstPort = sp;
        tcpFlags = 0;
        return Verdict.ICMP_ERROR;
    }

    private static int u16(MemorySegment p, int off) {
        return p.get(U16, off) & 0xFFFF;
    }

    /** The flow's hash, as {@link FlowHash} computes it for a socket address pair (same seed, same value). */
    public long flowHash(long seed) {
        return FlowHash.ipv6(seed, srcHi, srcLo, srcPort, dstHi, dstLo, dstPort, protocol);
    }

    public int version() {
        return version;
    }

    public int protocol() {
        return protocol;
    }

    public int srcPort() {
        return srcPort;
    }

    public int dstPort() {
        return dstPort;
    }

    /** TCP flags byte (0 for UDP). */
    public int tcpFlags() {
        return tcpFlags;
    }

    /** A TCP SYN without ACK: the first packet of a connection. */
    public boolean isSyn() {
        return protocol == FlowHash.PROTO_TCP && (tcpFlags & 0x12) == 0x02;
    }

    public long srcHi() {
        return srcHi;
    }

    public long srcLo() {
        return srcLo;
    }

    public long dstHi() {
        return dstHi;
    }

    public long dstLo() {
        return dstLo;
    }

    /** Offset of the transport header in the packet. */
    public int l4Offset() {
        return l4Offset;
    }
}
