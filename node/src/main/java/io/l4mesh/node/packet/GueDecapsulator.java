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
 * write.
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
    private static final ValueLayout.OfShort BE_SHORT =
        ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private final Tun tun;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment state = Libc.callState(arena);
    private final MemorySegment msgs = arena.allocate((long) Libc.MMSGHDR_SIZE * BATCH, 8);
    private final MemorySegment[] packets = new MemorySegment[BATCH];
    private final PacketParser parser = new PacketParser();
    private final LongAdder decapsulated = new LongAdder();
    private final LongAdder refused = new LongAdder();
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
                    deliver(packets[i], msgs.get(ValueLayout.JAVA_INT, (long) i * Libc.MMSGHDR_SIZE + 56));
                }
            }
        } finally {
            runner = null;
        }
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
