package io.l4mesh.node.packet;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.BitSet;

/**
 * UDP segmentation offload ({@code UDP_SEGMENT}) for a run of encapsulated packets of one flow: their UDP payloads
 * go to the kernel in one {@code sendmsg} with the segment size, and the kernel carries them as one packet through
 * its output path, the veth and any router on the way, cutting it into datagrams only where it must (at the
 * receiving socket, or a device without the offload). One send instead of one per packet, and one trip through
 * every forwarding hop.
 *
 * <p>A UDP socket sends from its own port, so each flow's outer source port (its RSS hash, {@link
 * Encapsulator#sourcePort}) needs a socket bound to that port: a small cache of them, each with a socket filter that
 * keeps nothing (they are for sending only). They are bound without {@code SO_REUSEPORT} or {@code SO_REUSEADDR}, so
 * they never join another socket's port and take a share of what it receives: a port that is taken (by another
 * program, a UDP listener of this node, or another packet thread whose flow hashed to the same port) cannot be
 * bound, and that flow's packets go the raw socket's way (the wire sees the same addresses and ports either way, and
 * each flow keeps its order since a run is sent after the packets queued before it). IPv4 backends only; a kernel
 * that refuses the option turns it off for the thread.
 *
 * <p>Threading: one packet thread (all its buffers are reused).
 */
final class UdpGso implements AutoCloseable {
    static final int SOL_UDP = 17;
    static final int UDP_SEGMENT = 103;
    static final int SO_SNDBUF = 7;
    static final int SOCK_DGRAM = 2;
    /** The kernel's limit on segments per send ({@code UDP_MAX_SEGMENTS}, 64 before Linux 6.9). */
    static final int MAX_SEGMENTS = 64;
    /** The largest UDP payload of one send (a datagram's 16-bit length less the IPv4 and UDP headers). */
    static final int MAX_PAYLOAD = 65_507;
    private static final int CACHE = 64;
    /** The shortest run for which a socket is bound (a cached one serves runs of two and more). */
    static final int MIN_RUN_TO_BIND = 4;
    private static final int MSGHDR_SIZE = 56;
    /** Where the UDP payload starts in an encapsulated IPv4 packet (after the outer IPv4 and UDP headers). */
    private static final int UDP_PAYLOAD = 28;
    private static final int CMSG_SPACE = 24;

    private final Arena arena = Arena.ofShared();
    private final MemorySegment state = Libc.callState(arena);
    private final MemorySegment payload = arena.allocate(MAX_PAYLOAD, 8);
    private final MemorySegment msg = arena.allocate(MSGHDR_SIZE, 8);
    private final MemorySegment iov = arena.allocate(Libc.IOVEC_SIZE, 8);
    private final MemorySegment addr = arena.allocate(Libc.SOCKADDR_IN_SIZE, 8);
    private final MemorySegment control = arena.allocate(CMSG_SPACE, 8);
    private final MemorySegment bindAddr = arena.allocate(Libc.SOCKADDR_IN_SIZE, 8);
    private final MemorySegment filter = Libc.keepNothingFilter(arena);
    private final MemorySegment sndbuf = arena.allocate(ValueLayout.JAVA_INT);
    private final int[] ports = new int[CACHE];
    private final int[] fds = new int[CACHE];
    /** Source ports this thread could not bind (another program holds them). */
    private final BitSet refused = new BitSet(65_536);
    private int next;
    private boolean off;
    private boolean worked;

    UdpGso() {
        java.util.Arrays.fill(fds, -1);
        addr.set(ValueLayout.JAVA_SHORT, 0, (short) Libc.AF_INET);
        bindAddr.set(ValueLayout.JAVA_SHORT, 0, (short) Libc.AF_INET);
        msg.set(ValueLayout.ADDRESS, 0, addr);
        msg.set(ValueLayout.JAVA_INT, 8, Libc.SOCKADDR_IN_SIZE);
        msg.set(ValueLayout.ADDRESS, 16, iov);
        msg.set(ValueLayout.JAVA_LONG, 24, 1L);
        msg.set(ValueLayout.ADDRESS, 32, control);
        msg.set(ValueLayout.JAVA_LONG, 40, CMSG_SPACE);
        control.set(ValueLayout.JAVA_LONG, 0, 18L);                 // cmsg_len: CMSG_LEN(sizeof(u16))
        control.set(ValueLayout.JAVA_INT, 8, SOL_UDP);
        control.set(ValueLayout.JAVA_INT, 12, UDP_SEGMENT);
        iov.set(ValueLayout.ADDRESS, 0, payload);
        sndbuf.set(ValueLayout.JAVA_INT, 0, 4 << 20);
    }

    /** Where the payloads of a run go, one after the other. */
    MemorySegment payload() {
        return payload;
    }

    /** Whether the kernel took the option (false once it refused it: every run then goes the raw way). */
    boolean on() {
        return !off;
    }

    /**
     * A socket bound to {@code port} for sending a run of {@code packets}, or -1 if there is none and the run does not
     * pay for binding one (fewer than {@link #MIN_RUN_TO_BIND}: with many flows the cache would churn, a bind
     * costing more than the sends it saves), or none can be bound (the caller sends the raw way).
     */
    int socketFor(int port, int packets) {
        for (int i = 0; i < CACHE; i++) {
            if (fds[i] >= 0 && ports[i] == port) {
                return fds[i];
            }
        }
        if (off || packets < MIN_RUN_TO_BIND || refused.get(port)) {
            return -1;
        }
        int fd = open(port);
        if (fd < 0) {
            refused.set(port);
            return -1;
        }
        int slot = next;
        next = (next + 1) % CACHE;
        close(fds[slot]);
        fds[slot] = fd;
        ports[slot] = port;
        return fd;
    }

    /**
     * Sends the {@code length} payload bytes laid out in {@link #payload} as datagrams of {@code segment} bytes (the
     * last may be shorter) to {@code dstIp:dstPort}.
     *
     * @return whether the kernel took them all
     */
    boolean send(int fd, int length, int segment, int dstIp, int dstPort) {
        addr.set(PacketParser.U16, 2, (short) dstPort);
        addr.set(PacketParser.U32, 4, dstIp);
        iov.set(ValueLayout.JAVA_LONG, 8, length);
        control.set(ValueLayout.JAVA_SHORT, 16, (short) segment);
        try {
            long n = (long) Libc.SENDMSG.invokeExact(state, fd, msg, 0);
            if (n == length) {
                worked = true;
                return true;
            }
            int err = n < 0 ? Libc.errno(state) : 0;
            if (!worked && (err == Libc.EINVAL || err == Libc.EIO || err == Libc.ENOPROTOOPT)) {
                off = true;     // refused before it ever worked: this kernel does not do UDP GSO
            }
            return false;
        } catch (Throwable t) {
            return false;
        }
    }

    /** The end of the run of packets in the batch that can go in one UDP GSO send with the one at {@code i}. */
    static int runEnd(SendBatch b, int i, int n) {
        MemorySegment first = b.packet(i);
        int length = b.length(i);
        int dst = first.get(PacketParser.U32, 16);
        int ports = first.get(PacketParser.U32, 20);
        int total = length - UDP_PAYLOAD;
        int j = i + 1;
        while (j < n && j - i < MAX_SEGMENTS) {
            MemorySegment p = b.packet(j);
            int l = b.length(j);
            if (p.get(PacketParser.U32, 16) != dst || p.get(PacketParser.U32, 20) != ports || l > length
                || total + l - UDP_PAYLOAD > MAX_PAYLOAD) {
                break;
            }
            total += l - UDP_PAYLOAD;
            j++;
            if (l < length) {
                break;          // only the last may be shorter
            }
        }
        return j;
    }

    /** Copies the run's UDP payloads together and sends them in one UDP GSO send. */
    boolean sendRun(SendBatch b, int i, int j, int fd) {
        MemorySegment out = payload;
        int length = 0;
        for (int k = i; k < j; k++) {
            int l = b.length(k) - UDP_PAYLOAD;
            MemorySegment.copy(b.packet(k), UDP_PAYLOAD, out, length, l);
            length += l;
        }
        MemorySegment first = b.packet(i);
        return send(fd, length, b.length(i) - UDP_PAYLOAD, first.get(PacketParser.U32, 16),
            first.get(PacketParser.U16, 22) & 0xFFFF);
    }

    private int open(int port) {
        try {
            int fd = (int) Libc.SOCKET.invokeExact(state, Libc.AF_INET, SOCK_DGRAM | Libc.O_CLOEXEC, 0);
            if (fd < 0) {
                return -1;
            }
            bindAddr.set(PacketParser.U16, 2, (short) port);
            if ((int) Libc.SETSOCKOPT.invokeExact(state, fd, Libc.SOL_SOCKET, Libc.SO_ATTACH_FILTER, filter,
                Libc.SOCK_FPROG_SIZE) < 0
                || (int) Libc.SETSOCKOPT.invokeExact(state, fd, Libc.SOL_SOCKET, SO_SNDBUF, sndbuf, 4) < 0
                || (int) Libc.BIND.invokeExact(state, fd, bindAddr, Libc.SOCKADDR_IN_SIZE) < 0) {
                close(fd);
                return -1;
            }
            return fd;
        } catch (Throwable t) {
            return -1;
        }
    }

    private void close(int fd) {
        if (fd < 0) {
            return;
        }
        try {
            int ignored = (int) Libc.CLOSE.invokeExact(state, fd);
        } catch (Throwable ignored) {
            // Nothing useful to do about a failed close.
        }
    }

    @Override
    public void close() {
        for (int i = 0; i < CACHE; i++) {
            close(fds[i]);
            fds[i] = -1;
        }
        arena.close();
    }
}
