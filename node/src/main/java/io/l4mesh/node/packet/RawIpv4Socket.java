package io.l4mesh.node.packet;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * A raw IPv4 socket ({@code socket(AF_INET, SOCK_RAW, IPPROTO_RAW)}, so the caller writes whole IPv4 packets; the
 * kernel fills in the header checksum, and the source address when it is zero). Needs CAP_NET_RAW.
 *
 * <p>Threading: one thread (its destination address and errno segments are reused).
 */
public final class RawIpv4Socket extends RawSocket {
    private final MemorySegment sockaddr = arena.allocate(16);

    private RawIpv4Socket(int fd) {
        super(fd);
        sockaddr.set(ValueLayout.JAVA_SHORT, 0, (short) Libc.AF_INET);   // sin_family, host order
    }

    /** Opens a raw socket in the calling thread's network namespace. */
    public static RawIpv4Socket open() throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = Libc.callState(a);
            int fd = (int) Libc.SOCKET.invokeExact(st, Libc.AF_INET, Libc.SOCK_RAW | Libc.O_CLOEXEC, Libc.IPPROTO_RAW);
            if (fd < 0) {
                throw new IOException("raw socket: " + Libc.strerror(Libc.errno(st)) + " (needs CAP_NET_RAW)");
            }
            return new RawIpv4Socket(fd);
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("raw socket: " + t, t);
        }
    }

    /** Sends the IPv4 packet in the first {@code length} bytes of {@code packet} to {@code dstIp} (big-endian). */
    public void send(MemorySegment packet, int length, int dstIp) throws IOException {
        sockaddr.set(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), 4, dstIp);
        try {
            long n = (long) Libc.SENDTO.invokeExact(state, fd, packet, (long) length, 0, sockaddr, 16);
            if (n != length) {
                throw new IOException("raw send: " + (n < 0 ? Libc.strerror(Libc.errno(state)) : "short " + n));
            }
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("raw send: " + t, t);
        }
    }
}
