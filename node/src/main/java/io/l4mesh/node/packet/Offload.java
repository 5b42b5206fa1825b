package io.l4mesh.node.packet;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * What a TUN device with {@code IFF_VNET_HDR} and offloads ({@code TUNSETOFFLOAD}) hands over, and the work the
 * kernel then leaves to the reader: each read starts with a {@code struct virtio_net_hdr} ({@link #HEADER} bytes,
 * native byte order) in front of the packet. The packet may be
 * <ul>
 *   <li>a TCP super-packet ({@code gso_type} TCPV4 or TCPV6): one IP and TCP header over up to 64 KiB of payload,
 *       which the node cuts into segments of {@code gso_size} payload bytes ({@link #segment}), each with its own
 *       IP length, IPv4 id and checksum, TCP sequence number, flags and checksum, as the kernel's TSO would;</li>
 *   <li>a UDP super-packet ({@code gso_type} UDP_L4, with {@code TUN_F_USO4 | TUN_F_USO6}, Linux 6.2 and later):
 *       datagrams of one flow that GRO merged on the way in (a device with {@code rx-udp-gro-forwarding}), one IP
 *       and UDP header over their payloads, cut the same way into datagrams of {@code gso_size} bytes;</li>
 *   <li>a packet whose transport checksum is only begun ({@link #NEEDS_CSUM}: the field holds the pseudo-header's
 *       sum, as a sender with checksum offload left it): {@link #completeChecksum} finishes it;</li>
 *   <li>an ordinary packet.</li>
 * </ul>
 * The receive side of the kernel then handles one packet per super-packet: bulk TCP costs one TUN read per 64 KiB
 * instead of one per 1.5 KiB, and a run of small datagrams of one flow one read instead of one per datagram.
 *
 * <p>Stateless and allocation-free; the caller's segments hold everything.
 */
public final class Offload {
    /** Bytes of {@code struct virtio_net_hdr} in front of every packet read or written. */
    public static final int HEADER = 10;
    static final int NEEDS_CSUM = 1;
    static final int GSO_NONE = 0;
    static final int GSO_TCPV4 = 1;
    static final int GSO_TCPV6 = 4;
    static final int GSO_UDP_L4 = 5;
    static final int GSO_ECN = 0x80;
    private static final ValueLayout.OfShort U16_NATIVE = ValueLayout.JAVA_SHORT_UNALIGNED
        .withOrder(ByteOrder.nativeOrder());

    private Offload() {
    }

    /**
     * Fills {@code hdr} for a super-packet written to the kernel: its transport checksum begun ({@link #NEEDS_CSUM},
     * the field holds the pseudo-header's sum) and to be cut into segments of {@code segmentPayload} payload bytes,
     * {@link #GSO_UDP_L4} (datagrams) or {@link #GSO_TCPV4} (TCP segments).
     */
    static void segmentationHeader(MemorySegment hdr, int gsoType, int ipHeader, int transportHeader,
                                   int segmentPayload) {
        hdr.set(ValueLayout.JAVA_BYTE, 0, (byte) NEEDS_CSUM);
        hdr.set(ValueLayout.JAVA_BYTE, 1, (byte) gsoType);
        hdr.set(U16_NATIVE, 2, (short) (ipHeader + transportHeader));          // hdr_len
        hdr.set(U16_NATIVE, 4, (short) segmentPayload);                        // gso_size
        hdr.set(U16_NATIVE, 6, (short) ipHeader);                              // csum_start
        hdr.set(U16_NATIVE, 8, (short) (gsoType == GSO_UDP_L4 ? 6 : 16));      // csum_offset: UDP's or TCP's
    }

    /** The header's flags ({@link #NEEDS_CSUM}). */
    static int flags(MemorySegment hdr) {
        return hdr.get(ValueLayout.JAVA_BYTE, 0) & 0xFF;
    }

    /** The header's {@code gso_type} without the ECN bit. */
    static int gsoType(MemorySegment hdr) {
        return hdr.get(ValueLayout.JAVA_BYTE, 1) & 0x7F;
    }

    /** Payload bytes per segment of a super-packet. */
    static int gsoSize(MemorySegment hdr) {
        return hdr.get(U16_NATIVE, 4) & 0xFFFF;
    }

    static int csumStart(MemorySegment hdr) {
        return hdr.get(U16_NATIVE, 6) & 0xFFFF;
    }

    static int csumOffset(MemorySegment hdr) {
        return hdr.get(U16_NATIVE, 8) & 0xFFFF;
    }

    /**
     * Finishes a begun checksum: the ones' complement sum from {@code start} to the end of the packet (the field
     * already holds the pseudo-header's sum) goes into the field at {@code start + offset}.
     *
     * @return false if the header points outside the packet (then nothing is written)
     */
    static boolean completeChecksum(MemorySegment p, int length, int start, int offset) {
        if (start < 0 || start + offset + 2 > length) {
            return false;
        }
        p.set(PacketParser.U16, start + offset, (short) Checksums.fold(Checksums.sum(p, start, length - start)));
        return true;
    }

    /**
     * The number of segments {@code length} bytes of super-packet make at {@code gsoSize} payload bytes each, or -1
     * if it is not what {@code gsoType} says ({@link #GSO_TCPV4} or {@link #GSO_TCPV6}: a TCP packet, {@link
     * #GSO_UDP_L4}: a UDP datagram; over IPv4 or IPv6 without extension headers) or its headers do not fit.
     */
    static int segments(MemorySegment p, int length, int gsoType, int gsoSize) {
        int headers = headers(p, length, gsoType);
        if (headers < 0 || gsoSize <= 0) {
            return -1;
        }
        int payload = length - headers;
        return payload <= 0 ? 1 : (payload + gsoSize - 1) / gsoSize;
    }

    /**
     * Writes segment {@code k} of the super-packet {@code src} into {@code dst}: its headers (lengths, IPv4 id and
     * checksums made right; for TCP the sequence number and flags too) and its share of the payload. For TCP, FIN and
     * PSH stay on the last segment only, CWR on the first only; a UDP super-packet becomes datagrams of
     * {@code gsoSize} payload bytes (the last may be shorter), as the kernel's UDP segmentation would cut it.
     *
     * @param k in {@code [0, segments(src, length, gsoType, gsoSize))}
     * @return the segment's length
     */
    static int segment(MemorySegment src, int length, int gsoType, int gsoSize, int k, MemorySegment dst) {
        int headers = headers(src, length, gsoType);
        boolean v4 = (src.get(ValueLayout.JAVA_BYTE, 0) & 0xF0) == 0x40;
        int ipHeader = v4 ? (src.get(ValueLayout.JAVA_BYTE, 0) & 0x0F) * 4 : 40;
        int payload = length - headers;
        int from = k * gsoSize;
        int chunk = Math.max(0, Math.min(gsoSize, payload - from));
        boolean last = from + chunk >= payload;
        MemorySegment.copy(src, 0, dst, 0, headers);
        MemorySegment.copy(src, headers + from, dst, headers, chunk);
        int out = headers + chunk;
        int l4 = ipHeader;
        int l4Length = out - l4;
        if (v4) {
            dst.set(PacketParser.U16, 2, (short) out);
            dst.set(PacketParser.U16, 4, (short) ((src.get(PacketParser.U16, 4) & 0xFFFF) + k));
            Checksums.fillIpv4Header(dst, 0);
        } else {
            dst.set(PacketParser.U16, 4, (short) l4Length);
        }
        long pseudo = v4 ? Checksums.sum(dst, 12, 8) : Checksums.sum(dst, 8, 32);
        if (gsoType == GSO_UDP_L4) {
            dst.set(PacketParser.U16, l4 + 4, (short) l4Length);
            dst.set(PacketParser.U16, l4 + 6, (short) 0);
            int sum = Checksums.fold(pseudo + 17 + l4Length + Checksums.sum(dst, l4, l4Length));
            dst.set(PacketParser.U16, l4 + 6, (short) (sum == 0 ? 0xFFFF : sum));    // 0 would mean "none"
            return out;
        }
        dst.set(PacketParser.U32, l4 + 4, src.get(PacketParser.U32, l4 + 4) + from);
        int flags = dst.get(ValueLayout.JAVA_BYTE, l4 + 13) & 0xFF;
        if (!last) {
            flags &= ~0x09;     // FIN, PSH
        }
        if (k > 0) {
            flags &= ~0x80;     // CWR
        }
        dst.set(ValueLayout.JAVA_BYTE, l4 + 13, (byte) flags);
        dst.set(PacketParser.U16, l4 + 16, (short) 0);
        dst.set(PacketParser.U16, l4 + 16, (short) Checksums.fold(pseudo + 6 + l4Length
            + Checksums.sum(dst, l4, l4Length)));
        return out;
    }

    /**
     * IP and transport header bytes of a packet of {@code gsoType}'s protocol, or -1 if it is something else or they
     * do not fit.
     */
    private static int headers(MemorySegment p, int length, int gsoType) {
        int protocol = switch (gsoType) {
            case GSO_TCPV4, GSO_TCPV6 -> 6;
            case GSO_UDP_L4 -> 17;
            default -> -1;
        };
        if (protocol < 0 || length < 28) {
            return -1;
        }
        int version = (p.get(ValueLayout.JAVA_BYTE, 0) & 0xF0) >>> 4;
        int ip;
        if (version == 4 && gsoType != GSO_TCPV6) {
            ip = (p.get(ValueLayout.JAVA_BYTE, 0) & 0x0F) * 4;
            if (ip < 20 || p.get(ValueLayout.JAVA_BYTE, 9) != protocol) {
                return -1;
            }
        } else if (version == 6 && gsoType != GSO_TCPV4) {
            ip = 40;
            if (p.get(ValueLayout.JAVA_BYTE, 6) != protocol) {
                return -1;
            }
        } else {
            return -1;
        }
        if (protocol == 17) {
            return ip + 8 > length ? -1 : ip + 8;
        }
        if (ip + 20 > length) {
            return -1;
        }
        int tcp = ((p.get(ValueLayout.JAVA_BYTE, ip + 12) & 0xF0) >>> 4) * 4;
        return tcp < 20 || ip + tcp > length ? -1 : ip + tcp;
    }
}
