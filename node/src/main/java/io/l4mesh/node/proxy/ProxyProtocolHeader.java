package io.l4mesh.node.proxy;

import io.l4mesh.node.config.ProxyProtocol;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * Writes the PROXY protocol header (HAProxy, "The PROXY protocol", versions 1 and 2) that tells a backend the
 * client's address. A connection whose two addresses are of different families is sent as IPv6, with the IPv4
 * one in its mapped form.
 *
 * <pre>
 * v2:  0                   1                   2                   3
 *      +---------------------------------------------------------------+
 *      |  signature \r\n\r\n\0\r\nQUIT\n (12 bytes)                      |
 *      +---------------+---------------+-------------------------------+
 *      | ver 2|cmd PROXY| fam|proto     | length of addresses (BE)      |
 *      +---------------+---------------+-------------------------------+
 *      | src addr (4/16) | dst addr (4/16) | src port | dst port        |
 *      +---------------------------------------------------------------+
 * </pre>
 */
public final class ProxyProtocolHeader {
    static final byte[] V2_SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
    static final int V2_VERSION_PROXY = 0x21;
    static final int V2_TCP4 = 0x11;
    static final int V2_TCP6 = 0x21;

    private ProxyProtocolHeader() {
    }

    /** The header for a TCP connection from {@code client} to {@code listener}, or null for {@code NONE}. */
    public static ByteBuf encode(ProxyProtocol version, InetSocketAddress client, InetSocketAddress listener,
                                 ByteBufAllocator alloc) {
        return switch (version) {
            case NONE -> null;
            case V1 -> v1(client, listener, alloc);
            case V2 -> v2(client, listener, alloc);
        };
    }

    private static boolean bothV4(InetSocketAddress a, InetSocketAddress b) {
        return a.getAddress() instanceof Inet4Address && b.getAddress() instanceof Inet4Address;
    }

    private static ByteBuf v1(InetSocketAddress src, InetSocketAddress dst, ByteBufAllocator alloc) {
        boolean v4 = bothV4(src, dst);
        String line = "PROXY " + (v4 ? "TCP4 " : "TCP6 ") + text(src.getAddress(), v4) + " "
            + text(dst.getAddress(), v4) + " " + src.getPort() + " " + dst.getPort() + "\r\n";
        ByteBuf buf = alloc.buffer(line.length());
        buf.writeCharSequence(line, StandardCharsets.US_ASCII);
        return buf;
    }

    private static ByteBuf v2(InetSocketAddress src, InetSocketAddress dst, ByteBufAllocator alloc) {
        boolean v4 = bothV4(src, dst);
        int addrLen = v4 ? 12 : 36;
        ByteBuf buf = alloc.buffer(16 + addrLen);
        buf.writeBytes(V2_SIGNATURE);
        buf.writeByte(V2_VERSION_PROXY);
        buf.writeByte(v4 ? V2_TCP4 : V2_TCP6);
        buf.writeShort(addrLen);
        buf.writeBytes(bytes(src.getAddress(), v4));
        buf.writeBytes(bytes(dst.getAddress(), v4));
        buf.writeShort(src.getPort());
        buf.writeShort(dst.getPort());
        return buf;
    }

    private static byte[] bytes(InetAddress a, boolean v4) {
        byte[] raw = a.getAddress();
        if (v4 || raw.length == 16) {
            return raw;
        }
        byte[] mapped = new byte[16];
        mapped[10] = (byte) 0xFF;
        mapped[11] = (byte) 0xFF;
        System.arraycopy(raw, 0, mapped, 12, 4);
        return mapped;
    }

    private static String text(InetAddress a, boolean v4) {
        if (v4 || !(a instanceof Inet4Address)) {
            String s = a.getHostAddress();
            int scope = s.indexOf('%');
            return scope >= 0 ? s.substring(0, scope) : s;
        }
        return "::ffff:" + a.getHostAddress();
    }
}
