package io.l4mesh.node.packet;

import java.lang.foreign.MemorySegment;

/**
 * Puts outer headers in front of a client packet that already sits at {@link #overhead()} in the buffer.
 *
 * <p>Threading: implementations are immutable.
 */
public interface Encapsulator {
    /** Bytes of outer headers (where the inner packet starts in the buffer). */
    int overhead();

    /**
     * Writes the outer headers for an inner packet of {@code innerLength} bytes to backend {@code dstIp}
     * (big-endian IPv4); the outer source is left to the kernel.
     *
     * @return the whole packet's length
     */
    int encapsulate(MemorySegment buf, int innerLength, int dstIp, long flowHash);

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
        buf.set(PacketParser.U16, 20, (short) (32_768 + (int) ((flowHash >>> 49) & 0x7FFF)));
        buf.set(PacketParser.U16, 22, (short) dstPort);
        buf.set(PacketParser.U16, 24, (short) (total - 20));
        buf.set(PacketParser.U16, 26, (short) 0);                      // no UDP checksum (IPv4 allows it)
    }
}
