package io.l4mesh.node.packet;

import java.lang.foreign.MemorySegment;

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
public final class GueEncapsulator implements Encapsulator {
    public static final int OVERHEAD = 28;
    public static final int DEFAULT_PORT = 6080;

    private final int port;

    public GueEncapsulator(int port) {
        this.port = port;
    }

    @Override
    public int overhead() {
        return OVERHEAD;
    }

    @Override
    public int port() {
        return port;
    }

    @Override
    public int afterUdp() {
        return 0;
    }

    @Override
    public void writeAfterUdp(MemorySegment buf, int offset) {
        // GUE "direct IP": the inner packet follows the UDP header at once
    }
}
