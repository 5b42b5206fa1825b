package io.l4mesh.node.packet;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.LongAdder;

/**
 * The backend side of GUE for hosts without the kernel's fou module ({@code l4mesh decap}): receives the UDP
 * datagrams whose payload is an IP packet and writes each packet into a TUN device, where the kernel takes it as if
 * it had arrived from the client. The VIP must be on {@code lo} and reverse-path filtering off for the TUN.
 *
 * <p>Datagrams come in batches: one {@code recvmmsg} takes up to {@link #BATCH} of them (waiting for the first
 * only), so a busy decapsulator makes one receive call per batch rather than per packet; each packet is then one TUN
 * write. The socket also asks for UDP GRO ({@code UDP_GRO}): a run of one flow's datagrams that the node sent with
 * UDP GSO (or that the kernel merged on the way) stays one buffer up to this socket, with its segment size beside
 * it, instead of being cut into datagrams in the kernel first; each segment is a packet. A kernel without the option
 * delivers datagrams one by one, as before. With a TUN device opened with offloads, a run of one flow's IPv4 UDP
 * datagrams, or of one TCP connection's consecutive segments, then goes into the kernel as one super-packet (one
 * write, {@link Tun#writeSuperPacket}): the kernel cuts a UDP one into the datagrams where it delivers them, and a TCP
 * socket takes a TCP one whole; any other run is written packet by packet.
 *
 * <p>Threading: {@link #run} on one thread; {@link #close} from another stops it within {@link #WAKE_MS} and frees
 * the buffers once it has stopped. No object per packet.
 */
public final class GueDecapsulator implements Runnable, AutoCloseable {
    static final int BATCH = 64;
    /** How long a receive waits before it looks whether the decapsulator was closed. */
    static final int WAKE_MS = 200;
    private static final int SOCK_DGRAM = 2;
    private static final int SOCK_CLOEXEC = 0x80000;
    private static final int SO_RCVBUF = 8;
    private static final int SO_RCVTIMEO = 20;
    private static final int MSG_WAITFORONE = 0x10000;
    private static final int SOL_UDP = 17;
    private static final int UDP_GRO = 104;
    /** {@code CMSG_SPACE(sizeof(int))}: room for the one control message UDP GRO adds (the segment size). */
    private static final int CONTROL = 24;
    /** An IPv4 header without options and a UDP header. */
    private static final int UDP4_HEADERS = 28;
    private static final ValueLayout.OfShort BE_SHORT =
        ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private final Tun tun;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment state = Libc.callState(arena);
    private final MemorySegment msgs = arena.allocate((long) Libc.MMSGHDR_SIZE * BATCH, 8);
    private final MemorySegment[] packets = new MemorySegment[BATCH];
    private final MemorySegment controls = arena.allocate((long) CONTROL * BATCH, 8);
    /** One segment of a merged buffer, copied out so that the parser and the TUN write see it from offset 0. */
    private final MemorySegment segment = arena.allocate(Tun.MAX_PACKET, 8);
    private final PacketParser parser = new PacketParser();
    private final LongAdder decapsulated = new LongAdder();
    private final LongAdder refused = new LongAdder();
    private final LongAdder merged = new LongAdder();
    private final LongAdder coalesced = new LongAdder();
    private final boolean gro;
    /** Whether the kernel takes UDP and TCP super-packets from the TUN device (off after it refused one). */
    private boolean udpSuperPackets = true;
    private boolean tcpSuperPackets = true;
    private final InetSocketAddress local;
    private final int fd;
    private volatile boolean running = true;
    private volatile Thread runner;
    private boolean closed;

    /** Binds the GUE port in the calling thread's network namespace. */
    public GueDecapsulator(InetSocketAddress listen, Tun tun) throws IOException {
        this.tun = tun;
        MemorySegment iovs = arena.allocate((long) Libc.IOVEC_SIZE * BATCH, 8);
        for (int i = 0; i < BATCH; i++) {
            packets[i] = arena.allocate(Tun.MAX_PACKET, 8);
            iovs.set(ValueLayout.ADDRESS, (long) i * Libc.IOVEC_SIZE, packets[i]);
            iovs.set(ValueLayout.JAVA_LONG, (long) i * Libc.IOVEC_SIZE + 8, Tun.MAX_PACKET);
            long m = (long) i * Libc.MMSGHDR_SIZE;
            msgs.set(ValueLayout.ADDRESS, m + 16, iovs.asSlice((long) i * Libc.IOVEC_SIZE));   // msg_iov
            msgs.set(ValueLayout.JAVA_LONG, m + 24, 1L);                                       // msg_iovlen
            msgs.set(ValueLayout.ADDRESS, m + 32, controls.asSlice((long) i * CONTROL, CONTROL)); // msg_control
        }
        boolean v4 = listen.getAddress() instanceof Inet4Address;
        try {
            fd = (int) Libc.SOCKET.invokeExact(state, v4 ? Libc.AF_INET : Libc.AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            if (fd < 0) {
                throw failure("socket");
            }
            MemorySegment value = arena.allocate(16, 8);
            value.set(ValueLayout.JAVA_INT, 0, 4 << 20);
            int ignored = (int) Libc.SETSOCKOPT.invokeExact(state, fd, Libc.SOL_SOCKET, SO_RCVBUF, value, 4);
            value.set(ValueLayout.JAVA_LONG, 0, 0L);                           // struct timeval {tv_sec, tv_usec}
            value.set(ValueLayout.JAVA_LONG, 8, WAKE_MS * 1000L);
            if ((int) Libc.SETSOCKOPT.invokeExact(state, fd, Libc.SOL_SOCKET, SO_RCVTIMEO, value, 16) < 0) {
                throw failure("SO_RCVTIMEO");
            }
            value.set(ValueLayout.JAVA_INT, 0, 1);
            gro = (int) Libc.SETSOCKOPT.invokeExact(state, fd, SOL_UDP, UDP_GRO, value, 4) == 0;   // Linux 5.0+
            MemorySegment addr = sockaddr(listen.getAddress(), listen.getPort());
            if ((int) Libc.BIND.invokeExact(state, fd, addr, (int) addr.byteSize()) < 0) {
                throw failure("bind " + listen);
            }
            MemorySegment len = arena.allocate(ValueLayout.JAVA_INT);
            len.set(ValueLayout.JAVA_INT, 0, (int) addr.byteSize());
            if ((int) Libc.GETSOCKNAME.invokeExact(state, fd, addr, len) < 0) {
                throw failure("getsockname");
            }
            local = new InetSocketAddress(listen.getAddress(), Short.toUnsignedInt(addr.get(BE_SHORT, 2)));
        } catch (IOException e) {
            arena.close();
            throw e;
        } catch (Throwable t) {
            arena.close();
            throw new IOException("decap socket: " + t, t);
        }
    }

    private IOException failure(String what) {
        return new IOException("decap " + what + ": " + Libc.strerror(Libc.errno(state)));
    }

    /** {@code sockaddr_in} or {@code sockaddr_in6} for {@code address} and {@code port}. */
    private MemorySegment sockaddr(InetAddress address, int port) {
        byte[] a = address.getAddress();
        MemorySegment s = arena.allocate(a.length == 4 ? Libc.SOCKADDR_IN_SIZE : Libc.SOCKADDR_IN6_SIZE, 8);
        s.set(ValueLayout.JAVA_SHORT, 0, (short) (a.length == 4 ? Libc.AF_INET : Libc.AF_INET6));
        s.set(BE_SHORT, 2, (short) port);
        MemorySegment.copy(a, 0, s, ValueLayout.JAVA_BYTE, a.length == 4 ? 4 : 8, a.length);
        return s;
    }

    public InetSocketAddress localAddress() {
        return local;
    }

    @Override
    public void run() {
        runner = Thread.currentThread();   // before the first look at running: close() then waits for this thread
        try {
            while (running) {
                int n;
                if (gro) {
                    for (int i = 0; i < BATCH; i++) {   // the kernel shortens msg_controllen to what it wrote
                        msgs.set(ValueLayout.JAVA_LONG, (long) i * Libc.MMSGHDR_SIZE + 40, CONTROL);
                    }
                }
                try {
                    n = (int) Libc.RECVMMSG.invokeExact(state, fd, msgs, BATCH, MSG_WAITFORONE, MemorySegment.NULL);
                } catch (Throwable t) {
                    return;
                }
                if (n < 0) {
                    int errno = Libc.errno(state);
                    if (errno == Libc.EAGAIN || errno == Libc.EINTR) {
                        continue;   // the receive timeout: look at running again
                    }
                    return;
                }
                for (int i = 0; i < n; i++) {
                    long m = (long) i * Libc.MMSGHDR_SIZE;
                    int length = msgs.get(ValueLayout.JAVA_INT, m + 56);
                    int segmentSize = gro ? segmentSize(i, msgs.get(ValueLayout.JAVA_LONG, m + 40)) : 0;
                    if (segmentSize > 0 && segmentSize < length) {
                        deliverSegments(packets[i], length, segmentSize);
                    } else {
                        deliver(packets[i], length);
                    }
                }
            }
        } finally {
            runner = null;
        }
    }

    /** The segment size UDP GRO reported for message {@code i}, or 0 if it reported none. */
    private int segmentSize(int i, long controlLength) {
        long c = (long) i * CONTROL;
        if (controlLength < 20 || controls.get(ValueLayout.JAVA_INT, c + 8) != SOL_UDP
            || controls.get(ValueLayout.JAVA_INT, c + 12) != UDP_GRO) {
            return 0;
        }
        return controls.get(ValueLayout.JAVA_INT, c + 16);   // struct cmsghdr {u64 len; int level; int type;} data
    }

    /** A merged buffer: every {@code segmentSize} bytes (the last may be shorter) are one datagram's payload. */
    private void deliverSegments(MemorySegment buffer, int length, int segmentSize) {
        merged.increment();
        if (tun.offload() && deliverAsOneRun(buffer, length, segmentSize)) {
            return;
        }
        for (int off = 0; off < length; off += segmentSize) {
            int len = Math.min(segmentSize, length - off);
            MemorySegment.copy(buffer, off, segment, 0, len);
            deliver(segment, len);
        }
    }

    /**
     * Writes the packets of a merged buffer as one super-packet if they are one flow's IPv4 UDP datagrams or one
     * flow's consecutive TCP segments (see {@link #udpRun} and {@link #tcpRun}), each with its lengths and checksums
     * right: the kernel would have dropped a packet with a wrong one, and the super-packet's are made anew, so they are
     * checked here. One TUN write then carries the run; the kernel cuts a UDP one into datagrams where it delivers
     * them and hands a TCP one to the socket whole, as it does what GRO merged.
     *
     * @return false if the run is not such, or the kernel refused the super-packet (nothing written: the caller writes
     *     the packets one by one)
     */
    private boolean deliverAsOneRun(MemorySegment b, int length, int segmentSize) {
        int count = (length + segmentSize - 1) / segmentSize;
        if (count < 2 || segmentSize <= UDP4_HEADERS || b.get(ValueLayout.JAVA_BYTE, 0) != 0x45) {
            return false;
        }
        int protocol = b.get(ValueLayout.JAVA_BYTE, 9);
        int total = protocol == 17 && udpSuperPackets ? udpRun(b, length, segmentSize, count)
            : protocol == 6 && tcpSuperPackets ? tcpRun(b, length, segmentSize, count) : -1;
        if (total < 0) {
            return false;
        }
        int transportHeader = protocol == 17 ? 8 : (b.get(ValueLayout.JAVA_BYTE, 32) & 0xF0) >>> 2;
        segment.set(PacketParser.U16, 2, (short) total);
        Checksums.fillIpv4Header(segment, 0);
        long pseudo = Checksums.sum(segment, 12, 8) + protocol + (total - 20);
        segment.set(PacketParser.U16, protocol == 17 ? 26 : 36, (short) (~Checksums.fold(pseudo) & 0xFFFF));  // begun
        try {
            tun.writeSuperPacket(segment, total, protocol == 17 ? Offload.GSO_UDP_L4 : Offload.GSO_TCPV4, 20,
                transportHeader, segmentSize - 20 - transportHeader);
            decapsulated.add(count);
            coalesced.increment();
        } catch (IOException e) {
            // A kernel that does not take this kind (UDP segmentation from a TUN device came with Linux 6.2): the
            // run, and every later one of its protocol, goes packet by packet.
            if (protocol == 17) {
                udpSuperPackets = false;
            } else {
                tcpSuperPackets = false;
            }
            return false;
        }
        return true;
    }

    /**
     * A run of one flow's UDP datagrams (the same addresses, ports, TOS, TTL and flags, no options or fragments) into
     * {@link #segment}, but for the IPv4 length and checksums.
     *
     * @return the super-packet's length, or -1 if the run is not such
     */
    private int udpRun(MemorySegment b, int length, int segmentSize, int count) {
        int last = length - (count - 1) * segmentSize;
        if (last <= UDP4_HEADERS) {
            return -1;
        }
        for (int k = 0; k < count; k++) {
            int off = k * segmentSize;
            int len = k < count - 1 ? segmentSize : last;
            if (!soundIpv4(b, off, len, 17) || (b.get(PacketParser.U16, off + 24) & 0xFFFF) != len - 20
                || off > 0 && b.get(PacketParser.U32, off + 20) != b.get(PacketParser.U32, 20)          // ports
                || b.get(PacketParser.U16, off + 26) != 0 && !transportChecksumRight(b, off, len, 17)) {
                return -1;   // (a zero UDP checksum is none, which IPv4 allows)
            }
        }
        int total = copyRun(b, length, segmentSize, count, UDP4_HEADERS);
        segment.set(PacketParser.U16, 24, (short) (total - 20));
        return total;
    }

    /**
     * A run of one flow's TCP segments into {@link #segment}, but for the IPv4 length and checksums: the same
     * addresses, ports, TOS, TTL, flags, acknowledgement, window and options (a sender's TSO burst, cut up by the
     * node), each one's sequence number where the one before it ended, ACK alone on every segment but the last,
     * which may add PSH. Others (SYN, FIN, RST, URG, ECN marks) go packet by packet.
     *
     * @return the super-packet's length, or -1 if the run is not such
     */
    private int tcpRun(MemorySegment b, int length, int segmentSize, int count) {
        int headers = 20 + ((b.get(ValueLayout.JAVA_BYTE, 32) & 0xF0) >>> 2);
        int payload = segmentSize - headers;
        int last = length - (count - 1) * segmentSize;
        if (headers < 40 || payload <= 0 || last <= headers) {
            return -1;
        }
        int seq = b.get(PacketParser.U32, 24);
        for (int k = 0; k < count; k++) {
            int off = k * segmentSize;
            int len = k < count - 1 ? segmentSize : last;
            int flags = b.get(ValueLayout.JAVA_BYTE, off + 33) & 0xFF;
            if (!soundIpv4(b, off, len, 6) || flags != 0x10 && !(k == count - 1 && flags == 0x18)
                || b.get(PacketParser.U32, off + 24) != seq + k * payload
                || off > 0 && (b.get(ValueLayout.JAVA_BYTE, off + 32) != b.get(ValueLayout.JAVA_BYTE, 32)
                    || b.get(PacketParser.U32, off + 20) != b.get(PacketParser.U32, 20)            // ports
                    || b.get(PacketParser.U32, off + 28) != b.get(PacketParser.U32, 28)            // acknowledgement
                    || b.get(PacketParser.U16, off + 34) != b.get(PacketParser.U16, 34)            // window
                    || MemorySegment.mismatch(b, off + 40, off + headers, b, 40, headers) != -1)   // options
                || !transportChecksumRight(b, off, len, 6)) {
                return -1;
            }
        }
        int total = copyRun(b, length, segmentSize, count, headers);
        segment.set(ValueLayout.JAVA_BYTE, 33, b.get(ValueLayout.JAVA_BYTE, (count - 1) * segmentSize + 33));
        return total;
    }

    /** The first packet's headers and every packet's payload into {@link #segment}; returns the length. */
    private int copyRun(MemorySegment b, int length, int segmentSize, int count, int headers) {
        MemorySegment.copy(b, 0, segment, 0, headers);
        int total = headers;
        for (int k = 0; k < count; k++) {
            int len = (k < count - 1 ? segmentSize : length - k * segmentSize) - headers;
            MemorySegment.copy(b, (long) k * segmentSize + headers, segment, total, len);
            total += len;
        }
        return total;
    }

    /**
     * Whether the packet at {@code off} is an IPv4 packet of {@code protocol} without options or fragments, {@code len}
     * bytes long by its header, whose header checksum is right and whose addresses, TOS, TTL and flags are the first
     * packet's.
     */
    private static boolean soundIpv4(MemorySegment b, int off, int len, int protocol) {
        return b.get(ValueLayout.JAVA_BYTE, off) == 0x45 && b.get(ValueLayout.JAVA_BYTE, off + 9) == protocol
            && (b.get(PacketParser.U16, off + 2) & 0xFFFF) == len
            && (b.get(PacketParser.U16, off + 6) & 0x3FFF) == 0                        // MF or a fragment offset
            && Checksums.internet(b, off, 20) == 0
            && (off == 0 || b.get(ValueLayout.JAVA_BYTE, off + 1) == b.get(ValueLayout.JAVA_BYTE, 1)
                && b.get(PacketParser.U16, off + 6) == b.get(PacketParser.U16, 6)
                && b.get(ValueLayout.JAVA_BYTE, off + 8) == b.get(ValueLayout.JAVA_BYTE, 8)
                && b.get(PacketParser.U64, off + 12) == b.get(PacketParser.U64, 12));    // addresses
    }

    /** Whether the UDP or TCP checksum of the IPv4 packet at {@code off} is right. */
    private static boolean transportChecksumRight(MemorySegment b, int off, int len, int protocol) {
        long sum = Checksums.sum(b, off + 12, 8) + protocol + (len - 20) + Checksums.sum(b, off + 20, len - 20);
        return Checksums.fold(sum) == 0;
    }

    private void deliver(MemorySegment packet, int length) {
        PacketParser.Verdict v = parser.parse(packet, length);
        if (v == PacketParser.Verdict.TRUNCATED || v == PacketParser.Verdict.MALFORMED) {
            refused.increment();   // not an IP packet: never write garbage into the kernel
            return;
        }
        try {
            tun.write(packet, length);
            decapsulated.increment();
        } catch (IOException e) {
            refused.increment();
        }
    }

    public long decapsulated() {
        return decapsulated.sum();
    }

    public long refused() {
        return refused.sum();
    }

    /** Receives that held a run of several datagrams merged by UDP GRO. */
    public long merged() {
        return merged.sum();
    }

    /** Merged runs written into the TUN device as one UDP super-packet each. */
    public long coalesced() {
        return coalesced.sum();
    }

    /** Whether the kernel took {@code UDP_GRO} for the socket. */
    public boolean gro() {
        return gro;
    }

    /**
     * Stops {@link #run} (it sees this within {@link #WAKE_MS}), then closes the socket and frees the buffers; a second
     * call does nothing.
     */
    @Override
    public synchronized void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        running = false;
        Thread t = runner;
        if (t != null && t != Thread.currentThread()) {
            try {
                t.join(4L * WAKE_MS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        try {
            int ignored = (int) Libc.CLOSE.invokeExact(state, fd);
        } catch (Throwable ignored) {
            // Nothing useful to do about a failed close.
        }
        if (runner == null) {
            arena.close();   // a runner still in a receive would touch freed memory: leave the arena to it then
        }
    }
}
