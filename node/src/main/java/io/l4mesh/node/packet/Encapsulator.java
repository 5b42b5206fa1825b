package io.l4mesh.node.packet;

import java.lang.foreign.MemorySegment;

/**
 * Puts outer headers in front of a client packet that already sits at {@link #overhead()} in the buffer.
 *
 * <p>Toward an IPv4 backend the node writes every outer header (IPv4, UDP, then the encapsulation's own) and sends
 * from the buffer's start through a raw IPv4 socket. Toward an IPv6 backend it writes from the UDP header on (20 bytes
 * into the buffer: {@link #IPV6_START}) and an IPv6 raw socket adds the IPv6 header, the source address and the
 * UDP checksum IPv6 requires; on the wire that is 20 bytes more than over IPv4 ({@link #overhead6()}).
 *
 * <p>Threading: implementations are immutable.
 */
public interface Encapsulator {
    /** Where, in the buffer, the part sent to an IPv6 backend starts (the outer IPv4 header is not used). */
    int IPV6_START = 20;

    /** Bytes of outer headers over IPv4 (where the inner packet starts in the buffer). */
    int overhead();

    /** Bytes of outer headers on the wire over IPv6 (40 of IPv6 instead of 20 of IPv4). */
    default int overhead6() {
        return overhead() + 20;
    }

    /** Bytes after the UDP header and before the inner packet (0 for GUE, 22 for VXLAN). */
    int afterUdp();

    /** Writes those bytes at {@code offset} (right after the UDP header); the inner packet follows them. */
    void writeAfterUdp(MemorySegment buf, int offset);

    /**
     * Writes the outer headers for an inner packet of {@code innerLength} bytes to backend {@code dstIp}
     * (big-endian IPv4); the outer source is left to the kernel.
     *
     * @return the whole packet's length
     */
    default int encapsulate(MemorySegment buf, int innerLength, int dstIp, long flowHash) {
        int total = overhead() + innerLength;
        ipv4Udp(buf, total, dstIp, flowHash, port());
        writeAfterUdp(buf, 28);
        return total;
    }

    /**
     * Writes the UDP header and what follows it for an IPv6 backend; {@code fromUdp} starts at {@link #IPV6_START}
     * of the buffer. The UDP checksum is left zero for the socket to fill in.
     *
     * @return the length to send from {@code fromUdp}
     */
    default int encapsulate6(MemorySegment fromUdp, int innerLength, long flowHash) {
        int length = 8 + afterUdp() + innerLength;
        fromUdp.set(PacketParser.U16, 0, (short) sourcePort(flowHash));
        fromUdp.set(PacketParser.U16, 2, (short) port());
        fromUdp.set(PacketParser.U16, 4, (short) length);
        fromUdp.set(PacketParser.U16, 6, (short) 0);
        writeAfterUdp(fromUdp, 8);
        return length;
    }

    /** The UDP destination port. */
    int port();

    /** The outer UDP source port for a flow: from its hash, so a backend's RSS spreads flows and keeps each on one queue. */
    static int sourcePort(long flowHash) {
        return 32_768 + (int) ((flowHash >>> 49) & 0x7FFF);
    }

    /** Writes an outer IPv4 + UDP header; the UDP source port comes from the flow hash (the backends' RSS). */
    static void ipv4Udp(MemorySegment buf, int total, int dstIp, long flowHash, int dstPort) {
        buf.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 0, (byte) 0x45);
        buf.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 1, (byte) 0);
        buf.set(PacketParser.U16, 2, (short) total);
        buf.set(PacketParser.U16, 4, (short) 0);
        buf.set(PacketParser.U16, 6, (short) 0x4000);                 // don't fragment
        buf.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 8, (byte) 64);
        buf.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 9, (byte) 17);
        buf.set(PacketParser.U16, 10, (short) 0);
        buf.set(PacketParser.U32, 12, 0);                              // the kernel fills in the source
        buf.set(PacketParser.U32, 16, dstIp);
        Checksums.fillIpv4Header(buf, 0);
        buf.set(PacketParser.U16, 20, (short) sourcePort(flowHash));
        buf.set(PacketParser.U16, 22, (short) dstPort);
        buf.set(PacketParser.U16, 24, (short) (total - 20));
        buf.set(PacketParser.U16, 26, (short) 0);                      // no UDP checksum (IPv4 allows it)
    }
}
