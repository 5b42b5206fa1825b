package io.l4mesh.node.packet;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * A UDP socket that counts the datagrams it receives, taking runs of one flow whole where the kernel offers them
 * ({@code UDP_GRO}, Linux 5.0 and later): one receive then returns up to 64 datagrams' payloads with their segment
 * size, so counting costs one system call per run instead of one per datagram. The benchmark's sink, which must not
 * be what bounds the paths it measures. IPv4, every local address.
 *
 * <p>Threading: one thread (the buffers are reused).
 */
public final class UdpSegmentReceiver implements AutoCloseable {
    private static final int SO_RCVBUF = 8;
    private static final int SO_RCVTIMEO = 20;
    private static final int UDP_GRO = 104;
    private static final int MSGHDR_SIZE = 56;
    private static final int CONTROL = 24;

    private final MemorySegment state;
    private final MemorySegment msg;
    private final MemorySegment control;
    private final int fd;
    private final boolean gro;

    /**
     * Binds {@code 0.0.0.0:port} in the calling thread's network namespace.
     *
     * @param waitMillis how long one {@link #receive} waits for a datagram
     */
    public UdpSegmentReceiver(Arena arena, int port, int waitMillis) throws IOException {
        state = Libc.callState(arena);
        MemorySegment buffer = arena.allocate(Tun.MAX_PACKET, 8);
        MemorySegment iov = arena.allocate(Libc.IOVEC_SIZE, 8);
        iov.set(ValueLayout.ADDRESS, 0, buffer);
        iov.set(ValueLayout.JAVA_LONG, 8, Tun.MAX_PACKET);
        control = arena.allocate(CONTROL, 8);
        msg = arena.allocate(MSGHDR_SIZE, 8);
        msg.set(ValueLayout.ADDRESS, 16, iov);          // msg_iov
        msg.set(ValueLayout.JAVA_LONG, 24, 1L);         // msg_iovlen
        msg.set(ValueLayout.ADDRESS, 32, control);      // msg_control
        MemorySegment value = arena.allocate(16, 8);
        MemorySegment addr = arena.allocate(Libc.SOCKADDR_IN_SIZE, 8);
        addr.set(ValueLayout.JAVA_SHORT, 0, (short) Libc.AF_INET);
        addr.set(ValueLayout.JAVA_SHORT.withOrder(ByteOrder.BIG_ENDIAN), 2, (short) port);
        try {
            fd = (int) Libc.SOCKET.invokeExact(state, Libc.AF_INET, UdpGso.SOCK_DGRAM, 0);
            if (fd < 0) {
                throw new IOException("socket: " + Libc.strerror(Libc.errno(state)));
            }
            value.set(ValueLayout.JAVA_INT, 0, 8 << 20);
            int ignored = (int) Libc.SETSOCKOPT.invokeExact(state, fd, Libc.SOL_SOCKET, SO_RCVBUF, value, 4);
            value.set(ValueLayout.JAVA_LONG, 0, waitMillis / 1000L);         // struct timeval {tv_sec, tv_usec}
            value.set(ValueLayout.JAVA_LONG, 8, waitMillis % 1000 * 1000L);
            ignored = (int) Libc.SETSOCKOPT.invokeExact(state, fd, Libc.SOL_SOCKET, SO_RCVTIMEO, value, 16);
            value.set(ValueLayout.JAVA_INT, 0, 1);
            gro = (int) Libc.SETSOCKOPT.invokeExact(state, fd, UdpGso.SOL_UDP, UDP_GRO, value, 4) == 0;
            if ((int) Libc.BIND.invokeExact(state, fd, addr, Libc.SOCKADDR_IN_SIZE) < 0) {
                int err = Libc.errno(state);
                ignored = (int) Libc.CLOSE.invokeExact(state, fd);
                throw new IOException("bind 0.0.0.0:" + port + ": " + Libc.strerror(err));
            }
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("UDP segment receiver: " + t, t);
        }
    }

    /** Whether the kernel took {@code UDP_GRO} (else every receive is one datagram). */
    public boolean gro() {
        return gro;
    }

    /**
     * Waits for what comes next (at most the wait given to the constructor).
     *
     * @return the datagrams it held: 0 after the wait with nothing, 1 for a datagram, more for a run
     * @throws IOException on an error other than the wait running out
     */
    public int receive() throws IOException {
        msg.set(ValueLayout.JAVA_LONG, 40, CONTROL);       // msg_controllen: the kernel shortens it to what it wrote
        long n;
        try {
            n = (long) Libc.RECVMSG.invokeExact(state, fd, msg, 0);
        } catch (Throwable t) {
            throw new IOException("recvmsg: " + t, t);
        }
        if (n < 0) {
            int err = Libc.errno(state);
            if (err == Libc.EAGAIN || err == Libc.EINTR) {
                return 0;
            }
            throw new IOException("recvmsg: " + Libc.strerror(err));
        }
        long controlLength = msg.get(ValueLayout.JAVA_LONG, 40);
        if (!gro || controlLength < 20 || control.get(ValueLayout.JAVA_INT, 8) != UdpGso.SOL_UDP
            || control.get(ValueLayout.JAVA_INT, 12) != UDP_GRO) {
            return 1;
        }
        int segment = control.get(ValueLayout.JAVA_INT, 16);
        return segment <= 0 || n <= segment ? 1 : (int) ((n + segment - 1) / segment);
    }

    @Override
    public void close() {
        try {
            int ignored = (int) Libc.CLOSE.invokeExact(state, fd);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }
}
