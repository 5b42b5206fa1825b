package io.l4mesh.node.packet;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * GUE "direct IP" encapsulation as Katran sends it (FOU-compatible: the UDP payload is the inner IP packet, no GUE
 * header), 28 bytes of overhead over IPv4:
 *
 * <pre>
 *  0                   20          28
 *  +-------------------+-----------+---------------------------+
 *  | outer IPv4        | UDP       | inner IP packet (as read)  |
 *  | proto 17, DF      | sport: flow hash, dport: 6080          |
 *  +-------------------+-----------+---------------------------+
 * </pre>
 *
 * The outer source port comes from the flow hash, so a backend's NIC spreads flows over its queues (RSS) while each
 * flow stays on one. The UDP checksum is zero (allowed over IPv4). The inner packet must already sit at
 * {@link #OVERHEAD} in the buffer: the TUN read goes straight there, so nothing is copied.
 */
public final class GueEncapsulator {
    public static final int OVERHEAD = 28;
    public static final int DEFAULT_PORT = 6080;
    static final int SOURCE_PORT_BASE = 32_768;

    private final int port;

    public GueEncapsulator(int port) {
        this.port = port;
    }

    /**
     * Writes the outer headers in front of an inner packet of {@code innerLength} bytes at {@link #OVERHEAD}.
     *
     * @param srcIp outer source (big-endian IPv4), or 0 to let the kernel choose
     * @return the whole packet's length
     */
    public int encapsulate(MemorySegment buf, int innerLength, int srcIp, int dstIp, long flowHash) {
        int total = OVERHEAD + innerLength;
        buf.set(ValueLayout.JAVA_BYTE, 0, (byte) 0x45);
        buf.set(ValueLayout.JAVA_BYTE, 1, (byte) 0);
        buf.set(PacketParser.U16, 2, (short) total);
        buf.set(PacketParser.U16, 4, (short) 0);
        buf.set(PacketParser.U16, 6, (short) 0x4000);                 // don't fragment
        buf.set(ValueLayout.JAVA_BYTE, 8, (byte) 64);
        buf.set(ValueLayout.JAVA_BYTE, 9, (byte) 17);
        buf.set(PacketParser.U16, 10, (short) 0);
        buf.set(PacketParser.U32, 12, srcIp);
        buf.set(PacketParser.U32, 16, dstIp);
        Checksums.fillIpv4Header(buf, 0);
        int sport = SOURCE_PORT_BASE + (int) ((flowHash >>> 49) & 0x7FFF);
        buf.set(PacketParser.U16, 20, (short) sport);
        buf.set(PacketParser.U16, 22, (short) port);
        buf.set(PacketParser.U16, 24, (short) (8 + innerLength));
        buf.set(PacketParser.U16, 26, (short) 0);
        return total;
    }
}
