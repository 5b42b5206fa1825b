package io.l4mesh.node.packet;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Sends encapsulated packets to IPv6 backends: a raw IPv6 socket for UDP ({@code socket(AF_INET6, SOCK_RAW,
 * IPPROTO_UDP)}). The caller writes the UDP header (its source port from the flow hash, checksum zero) and what
 * follows; the kernel adds the IPv6 header with the right source address and, told by {@code IPV6_CHECKSUM}, the
 * UDP checksum IPv6 requires. A raw socket would also receive a copy of every UDP packet the host gets: a socket
 * filter that accepts nothing keeps its receive queue empty. Needs CAP_NET_RAW.
 *
 * <p>Threading: one thread.
 */
public final class RawIpv6UdpSocket extends RawSocket {
    private RawIpv6UdpSocket(int fd) {
        super(fd);
    }

    /** Opens the socket in the calling thread's network namespace. */
    public static RawIpv6UdpSocket open() throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = Libc.callState(a);
            int fd = (int) Libc.SOCKET.invokeExact(st, Libc.AF_INET6, Libc.SOCK_RAW | Libc.O_CLOEXEC, Libc.IPPROTO_UDP);
            if (fd < 0) {
                throw new IOException("raw IPv6 socket: " + Libc.strerror(Libc.errno(st)) + " (needs CAP_NET_RAW)");
            }
            RawIpv6UdpSocket s = new RawIpv6UdpSocket(fd);
            try {
                MemorySegment offset = a.allocate(ValueLayout.JAVA_INT);
                offset.set(ValueLayout.JAVA_INT, 0, 6);    // the UDP checksum field
                s.setsockopt(a, Libc.IPPROTO_IPV6, Libc.IPV6_CHECKSUM, offset, 4);
                s.setsockopt(a, Libc.SOL_SOCKET, Libc.SO_ATTACH_FILTER, Libc.keepNothingFilter(a),
                    Libc.SOCK_FPROG_SIZE);
            } catch (IOException e) {
                s.close();
                throw e;
            }
            return s;
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("raw IPv6 socket: " + t, t);
        }
    }

    private void setsockopt(Arena a, int level, int name, MemorySegment value, int length) throws IOException {
        try {
            MemorySegment st = Libc.callState(a);
            int rc = (int) Libc.SETSOCKOPT.invokeExact(st, fd, level, name, value, length);
            if (rc < 0) {
                throw new IOException("setsockopt " + level + "/" + name + ": " + Libc.strerror(Libc.errno(st)));
            }
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("setsockopt: " + t, t);
        }
    }
}
