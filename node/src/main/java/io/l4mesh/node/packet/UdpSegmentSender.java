package io.l4mesh.node.packet;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.Inet4Address;
import java.net.InetSocketAddress;

/**
 * A UDP sender that hands the kernel a run of equal-sized datagrams in one send ({@code UDP_SEGMENT}), as QUIC
 * stacks do: the kernel carries the run as one packet as far as every device on the way can take it (veths, a TUN
 * device with UDP offloads, a NIC with UDP segmentation offload) and cuts it into datagrams where one cannot. The
 * benchmark's and the tests' client for traffic that reaches a node as UDP super-packets. IPv4 only.
 *
 * <pre>{@code
 * try (Arena arena = Arena.ofConfined(); UdpSegmentSender s = new UdpSegmentSender(arena, 18)) {
 *     s.send(run, new InetSocketAddress("198.18.100.2", 9000));   // run.byteSize() / 18 datagrams, the last shorter
 * }
 * }</pre>
 *
 * <p>Threading: one thread (the destination and errno buffers are reused).
 */
public final class UdpSegmentSender implements AutoCloseable {
    /** The most datagrams one send may carry (the kernel's {@code UDP_MAX_SEGMENTS} before Linux 6.9). */
    public static final int MAX_SEGMENTS = UdpGso.MAX_SEGMENTS;
    /** The most payload bytes one send may carry. */
    public static final int MAX_PAYLOAD = UdpGso.MAX_PAYLOAD;
    private final MemorySegment state;
    private final MemorySegment to;
    private final int fd;

    /**
     * @param arena       holds the sender's buffers (and must outlive it)
     * @param segmentSize payload bytes of each datagram of a run
     * @throws IOException if the kernel has no UDP segmentation (before Linux 4.18) or no socket can be made
     */
    public UdpSegmentSender(Arena arena, int segmentSize) throws IOException {
        state = Libc.callState(arena);
        to = arena.allocate(Libc.SOCKADDR_IN_SIZE, 8);
        to.set(ValueLayout.JAVA_SHORT, 0, (short) Libc.AF_INET);
        MemorySegment v = arena.allocate(ValueLayout.JAVA_INT);
        v.set(ValueLayout.JAVA_INT, 0, segmentSize);
        try {
            fd = (int) Libc.SOCKET.invokeExact(state, Libc.AF_INET, UdpGso.SOCK_DGRAM, 0);
            if (fd < 0) {
                throw new IOException("socket: " + Libc.strerror(Libc.errno(state)));
            }
            int rc = (int) Libc.SETSOCKOPT.invokeExact(state, fd, UdpGso.SOL_UDP, UdpGso.UDP_SEGMENT, v, 4);
            if (rc < 0) {
                int err = Libc.errno(state);
                int ignored = (int) Libc.CLOSE.invokeExact(state, fd);
                throw new IOException("setsockopt UDP_SEGMENT: " + Libc.strerror(err));
            }
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("UDP segmentation sender: " + t, t);
        }
    }

    /**
     * Sends {@code run} to {@code dst} as datagrams of the segment size (at most 64 of them, and at most 65,507
     * bytes in all).
     *
     * @return false if the kernel had no room for it (ENOBUFS or EAGAIN under load): nothing went
     * @throws IOException on any other error
     */
    public boolean send(MemorySegment run, InetSocketAddress dst) throws IOException {
        if (!(dst.getAddress() instanceof Inet4Address v4)) {
            throw new IOException("UDP segmentation sender: IPv4 only, not " + dst);
        }
        byte[] a = v4.getAddress();
        to.set(ValueLayout.JAVA_BYTE, 2, (byte) (dst.getPort() >> 8));
        to.set(ValueLayout.JAVA_BYTE, 3, (byte) dst.getPort());
        MemorySegment.copy(a, 0, to, ValueLayout.JAVA_BYTE, 4, 4);
        long n;
        try {
            n = (long) Libc.SENDTO.invokeExact(state, fd, run, run.byteSize(), 0, to, Libc.SOCKADDR_IN_SIZE);
        } catch (Throwable t) {
            throw new IOException("sendto: " + t, t);
        }
        if (n >= 0) {
            return true;
        }
        int err = Libc.errno(state);
        if (err == Libc.EAGAIN || err == Libc.ENOBUFS) {
            return false;
        }
        throw new IOException("sendto " + dst + ": " + Libc.strerror(err));
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
