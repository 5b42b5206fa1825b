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
public final class RawIpv4Socket implements AutoCloseable {
    private final int fd;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment state = Libc.callState(arena);
    private final MemorySegment sockaddr = arena.allocate(16);

    private RawIpv4Socket(int fd) {
        this.fd = fd;
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

    /**
     * A batch for {@link #sendBatch}: up to {@code capacity} packets, each with its own destination, sent in one
     * {@code sendmmsg} call. Built once per packet thread; the packets stay in the caller's buffers (no copy).
     */
    public static final class Batch {
        private final MemorySegment msgs;
        private final MemorySegment iovs;
        private final MemorySegment addrs;
        private final int capacity;
        private int size;

        public Batch(Arena arena, int capacity) {
            this.capacity = capacity;
            this.msgs = arena.allocate((long) Libc.MMSGHDR_SIZE * capacity, 8);
            this.iovs = arena.allocate((long) Libc.IOVEC_SIZE * capacity, 8);
            this.addrs = arena.allocate((long) Libc.SOCKADDR_IN_SIZE * capacity, 8);
            for (int i = 0; i < capacity; i++) {
                long m = (long) i * Libc.MMSGHDR_SIZE;
                addrs.set(ValueLayout.JAVA_SHORT, (long) i * Libc.SOCKADDR_IN_SIZE, (short) Libc.AF_INET);
                msgs.set(ValueLayout.ADDRESS, m, addrs.asSlice((long) i * Libc.SOCKADDR_IN_SIZE));   // msg_name
                msgs.set(ValueLayout.JAVA_INT, m + 8, Libc.SOCKADDR_IN_SIZE);                         // msg_namelen
                msgs.set(ValueLayout.ADDRESS, m + 16, iovs.asSlice((long) i * Libc.IOVEC_SIZE));     // msg_iov
                msgs.set(ValueLayout.JAVA_LONG, m + 24, 1L);                                          // msg_iovlen
            }
        }

        /** Queues a packet (its buffer must stay untouched until the batch is sent); false when full. */
        public boolean add(MemorySegment packet, int length, int dstIp) {
            if (size == capacity) {
                return false;
            }
            long iov = (long) size * Libc.IOVEC_SIZE;
            iovs.set(ValueLayout.ADDRESS, iov, packet);
            iovs.set(ValueLayout.JAVA_LONG, iov + 8, length);
            addrs.set(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN),
                (long) size * Libc.SOCKADDR_IN_SIZE + 4, dstIp);
            size++;
            return true;
        }

        public int size() {
            return size;
        }

        public boolean full() {
            return size == capacity;
        }
    }

    /**
     * Sends every packet queued in {@code batch} ({@code sendmmsg}, going on after a packet the kernel refused) and
     * empties it.
     *
     * @return packets the kernel refused (each skipped)
     * @throws IOException when the call itself failed (the batch is emptied all the same)
     */
    public int sendBatch(Batch batch) throws IOException {
        int failed = 0;
        int from = 0;
        try {
            while (from < batch.size) {
                MemorySegment first = from == 0 ? batch.msgs : batch.msgs.asSlice((long) from * Libc.MMSGHDR_SIZE);
                int n = (int) Libc.SENDMMSG.invokeExact(state, fd, first, batch.size - from, 0);
                if (n <= 0) {
                    failed++;          // the first remaining packet was refused: skip it
                    from++;
                } else {
                    from += n;
                }
            }
        } catch (Throwable t) {
            throw new IOException("raw sendmmsg: " + t, t);
        } finally {
            batch.size = 0;
        }
        return failed;
    }

    @Override
    public void close() {
        try {
            int ignored = (int) Libc.CLOSE.invokeExact(state, fd);
        } catch (Throwable ignored) {
            // Nothing useful to do about a failed close.
        }
        arena.close();
    }
}
