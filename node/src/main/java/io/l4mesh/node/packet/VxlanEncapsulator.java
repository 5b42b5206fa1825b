package io.l4mesh.node.packet;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * VXLAN encapsulation (RFC 7348), 50 bytes of overhead over IPv4 (70 over IPv6), for backends that decapsulate with the kernel's
 * vxlan device. The kernel accepts the inner frame only when its destination MAC is the vxlan device's own, so
 * every backend of the pool gives its device the pool's {@code innerMac}
 * ({@code ip link add vx0 address 02:4c:34:00:00:01 type vxlan id 42 dstport 4789 local <ip> nolearning}).
 *
 * <pre>
 *  0            20     28              36                                  50
 *  +------------+------+---------------+-----------------------------------+---------------+
 *  | outer IPv4 | UDP  | VXLAN: I flag | inner Ethernet: dst innerMac,     | inner IP      |
 *  |            | 4789 | and 24-bit VNI| src 02:4c:34:ff:ff:ff, ethertype  | packet        |
 *  +------------+------+---------------+-----------------------------------+---------------+
 * </pre>
 */
public final class VxlanEncapsulator implements Encapsulator {
    public static final int OVERHEAD = 50;
    public static final int DEFAULT_PORT = 4789;
    static final byte[] SOURCE_MAC = {0x02, 0x4c, 0x34, (byte) 0xff, (byte) 0xff, (byte) 0xff};

    private final int port;
    private final int vni;
    private final byte[] innerMac;

    public VxlanEncapsulator(int port, int vni, byte[] innerMac) {
        if (vni < 0 || vni > 0xFFFFFF || innerMac.length != 6) {
            throw new IllegalArgumentException("VXLAN needs a 24-bit VNI and a 6-byte MAC");
        }
        this.port = port;
        this.vni = vni;
        this.innerMac = innerMac.clone();
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
        return 22;
    }

    @Override
    public void writeAfterUdp(MemorySegment buf, int at) {
        buf.set(PacketParser.U32, at, 0x08000000);                    // flags: I (valid VNI)
        buf.set(PacketParser.U32, at + 4, vni << 8);
        MemorySegment.copy(innerMac, 0, buf, ValueLayout.JAVA_BYTE, at + 8, 6);
        MemorySegment.copy(SOURCE_MAC, 0, buf, ValueLayout.JAVA_BYTE, at + 14, 6);
        int version = (buf.get(ValueLayout.JAVA_BYTE, at + 22) & 0xF0) >>> 4;
        buf.set(PacketParser.U16, at + 20, (short) (version == 6 ? 0x86DD : 0x0800));
    }
}
