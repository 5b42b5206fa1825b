package io.l4mesh.node.packet;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Up to {@code capacity} packets, each with its own destination, for one {@code sendmmsg} call on a raw socket of
 * one family. Built once per packet thread; the packets stay in the caller's buffers (nothing is copied) and must
 * not change until the batch is sent.
 *
 * <p>Threading: one thread.
 */
public final class SendBatch {
    private static final ValueLayout.OfInt BE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfLong BE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private final MemorySegment msgs;
    private final MemorySegment iovs;
    private final MemorySegment addrs;
    private final int addrSize;
    private final int capacity;
    /** Each message's place in {@link #msgs}, made once (a send from the middle makes no object). */
    private final MemorySegment[] msgAt;
    private final MemorySegment[] packets;
    private final int[] lengths;
    private int size;

    /** @param ipv6 destinations are IPv6 ({@code sockaddr_in6}) rather than IPv4 ({@code sockaddr_in}) */
    public SendBatch(Arena arena, int capacity, boolean ipv6) {
        this.capacity = capacity;
        this.addrSize = ipv6 ? Libc.SOCKADDR_IN6_SIZE : Libc.SOCKADDR_IN_SIZE;
        this.msgs = arena.allocate((long) Libc.MMSGHDR_SIZE * capacity, 8);
        this.iovs = arena.allocate((long) Libc.IOVEC_SIZE * capacity, 8);
        this.addrs = arena.allocate((long) addrSize * capacity, 8);
        this.msgAt = new MemorySegment[capacity];
        this.packets = new MemorySegment[capacity];
        this.lengths = new int[capacity];
        for (int i = 0; i < capacity; i++) {
            long m = (long) i * Libc.MMSGHDR_SIZE;
            addrs.set(ValueLayout.JAVA_SHORT, (long) i * addrSize, (short) (ipv6 ? Libc.AF_INET6 : Libc.AF_INET));
            msgs.set(ValueLayout.ADDRESS, m, addrs.asSlice((long) i * addrSize));            // msg_name
            msgs.set(ValueLayout.JAVA_INT, m + 8, addrSize);                                 // msg_namelen
            msgs.set(ValueLayout.ADDRESS, m + 16, iovs.asSlice((long) i * Libc.IOVEC_SIZE)); // msg_iov
            msgs.set(ValueLayout.JAVA_LONG, m + 24, 1L);                                     // msg_iovlen
            msgAt[i] = msgs.asSlice(m);
        }
    }

    private long slot(MemorySegment packet, int length) {
        long iov = (long) size * Libc.IOVEC_SIZE;
        iovs.set(ValueLayout.ADDRESS, iov, packet);
        iovs.set(ValueLayout.JAVA_LONG, iov + 8, length);
        packets[size] = packet;
        lengths[size] = length;
        return (long) size * addrSize;
    }

    /** Queues a packet to an IPv4 address (big-endian int). The caller keeps the batch from overfilling. */
    public void add(MemorySegment packet, int length, int dstIp) {
        addrs.set(BE_INT, slot(packet, length) + 4, dstIp);
        size++;
    }

    /** Queues a packet to an IPv6 address given as its two big-endian halves. */
    public void add(MemorySegment packet, int length, long dstHi, long dstLo) {
        long a = slot(packet, length);
        addrs.set(BE_LONG, a + 8, dstHi);
        addrs.set(BE_LONG, a + 16, dstLo);
        size++;
    }

    public int size() {
        return size;
    }

    public boolean full() {
        return size == capacity;
    }

    /** The packet queued at {@code i} (its buffer, as queued). */
    MemorySegment packet(int i) {
        return packets[i];
    }

    /** The length of the packet queued at {@code i}. */
    int length(int i) {
        return lengths[i];
    }

    /** Empties the batch (after its packets went out some other way). */
    void clear() {
        size = 0;
    }

    /**
     * Sends the batch on {@code fd} ({@code sendmmsg}, going on after a packet the kernel refused) and empties it.
     *
     * @return packets the kernel refused (each skipped)
     * @throws IOException when the call itself failed (the batch is emptied all the same)
     */
    int send(MemorySegment state, int fd) throws IOException {
        try {
            return send(state, fd, 0, size);
        } finally {
            size = 0;
        }
    }

    /**
     * Sends the packets queued at {@code [from, to)} on {@code fd} ({@code sendmmsg}, going on after a packet the
     * kernel refused); the batch keeps them (see {@link #clear}).
     *
     * @return packets the kernel refused (each skipped)
     */
    int send(MemorySegment state, int fd, int from, int to) throws IOException {
        int failed = 0;
        try {
            while (from < to) {
                int n = (int) Libc.SENDMMSG.invokeExact(state, fd, msgAt[from], to - from, 0);
                if (n <= 0) {
                    failed++;          // the first remaining packet was refused: skip it
                    from++;
                } else {
                    from += n;
                }
            }
        } catch (Throwable t) {
            throw new IOException("sendmmsg: " + t, t);
        }
        return failed;
    }
}
