package io.l4mesh.node.packet;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * One queue of a Linux TUN device, opened through FFM ({@code open("/dev/net/tun")} and
 * {@code ioctl(TUNSETIFF, IFF_TUN | IFF_NO_PI [| IFF_MULTI_QUEUE])}). Each read returns one raw IP packet; each
 * write injects one. Needs CAP_NET_ADMIN. Opening the same name again with {@code multiQueue} adds a queue (one per
 * packet thread); the kernel spreads flows over queues.
 *
 * <p>Opened with {@code offload}, the device also has {@code IFF_VNET_HDR} and {@code TUNSETOFFLOAD(TUN_F_CSUM |
 * TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_USO4 | TUN_F_USO6)}, the last two where the kernel has them (Linux 6.2 and
 * later, {@link #udpOffload}): the kernel hands over TCP and UDP super-packets and begun checksums as they are (no
 * segmentation, no checksum on its side), each read starting with {@link Offload#HEADER} bytes of
 * {@code virtio_net_hdr} that the reader must act on ({@link Offload}); {@link #write} puts an empty one in front,
 * and {@link #writeSuperPacket} one that asks the kernel to cut a UDP or TCP super-packet into datagrams or
 * segments (GSO).
 * Every queue of a device must be opened the same way.
 *
 * <pre>{@code
 * try (Tun tun = Tun.open("l4m0", false); Arena arena = Arena.ofConfined()) {
 *     MemorySegment buf = arena.allocate(Tun.MAX_PACKET);
 *     int n = tun.read(buf, 100);          // -1 on timeout
 * }
 * }</pre>
 *
 * <p>Threading: one thread per queue (the errno capture segment is per instance).
 */
public final class Tun implements AutoCloseable {
    public static final int MAX_PACKET = 65_535;
    static final long TUNSETIFF = 0x400454caL;
    static final short IFF_TUN = 0x0001;
    static final short IFF_NO_PI = 0x1000;
    static final short IFF_MULTI_QUEUE = 0x0100;
    static final short IFF_VNET_HDR = 0x4000;
    static final long TUNSETOFFLOAD = 0x400454d0L;
    static final long TUN_F_CSUM = 0x01;
    static final long TUN_F_TSO4 = 0x02;
    static final long TUN_F_TSO6 = 0x04;
    static final long TUN_F_USO4 = 0x20;
    static final long TUN_F_USO6 = 0x40;
    static final int IFNAMSIZ = 16;
    static final int IFREQ_SIZE = 40;

    private final String name;
    private final int fd;
    private final boolean offload;
    private final boolean udpOffload;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment state = Libc.callState(arena);
    private final MemorySegment pollfd = arena.allocate(8);
    /** For {@link #write} with offload: two iovecs, an empty header and the packet. */
    private final MemorySegment iov;
    /** For {@link #writeSuperPacket}: a header that asks for segmentation, and the packet. */
    private final MemorySegment gsoIov;
    private final MemorySegment gsoHeader;
    private volatile boolean closed;

    private Tun(String name, int fd, boolean offload, boolean udpOffload) {
        this.name = name;
        this.fd = fd;
        this.offload = offload;
        this.udpOffload = udpOffload;
        this.iov = offload ? arena.allocate(2L * Libc.IOVEC_SIZE, 8) : null;
        this.gsoIov = offload ? arena.allocate(2L * Libc.IOVEC_SIZE, 8) : null;
        this.gsoHeader = offload ? arena.allocate(Offload.HEADER, 8) : null;
        if (offload) {
            iov.set(ValueLayout.ADDRESS, 0, arena.allocate(Offload.HEADER, 8));
            iov.set(ValueLayout.JAVA_LONG, 8, Offload.HEADER);
            gsoIov.set(ValueLayout.ADDRESS, 0, gsoHeader);
            gsoIov.set(ValueLayout.JAVA_LONG, 8, Offload.HEADER);
        }
    }

    /** Opens (creating if needed) the TUN device {@code name} in the calling thread's network namespace. */
    public static Tun open(String name, boolean multiQueue) throws IOException {
        return open(name, multiQueue, false);
    }

    /**
     * Opens a queue of {@code name}, with offloads if {@code offload} (see the class comment).
     *
     * @throws IOException with "TUNSETOFFLOAD" in its message when the kernel refuses the offloads: open without
     */
    public static Tun open(String name, boolean multiQueue, boolean offload) throws IOException {
        byte[] n = name.getBytes(StandardCharsets.US_ASCII);
        if (n.length == 0 || n.length >= IFNAMSIZ) {
            throw new IOException("TUN device name '" + name + "' must be 1 to 15 characters");
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = Libc.callState(a);
            int fd = (int) Libc.OPEN.invokeExact(st, a.allocateFrom("/dev/net/tun"),
                Libc.O_RDWR | Libc.O_NONBLOCK | Libc.O_CLOEXEC, 0);
            if (fd < 0) {
                throw new IOException("open /dev/net/tun: " + Libc.strerror(Libc.errno(st)));
            }
            MemorySegment ifr = a.allocate(IFREQ_SIZE);
            MemorySegment.copy(n, 0, ifr, ValueLayout.JAVA_BYTE, 0, n.length);
            short flags = (short) (IFF_TUN | IFF_NO_PI | (multiQueue ? IFF_MULTI_QUEUE : 0)
                | (offload ? IFF_VNET_HDR : 0));
            ifr.set(ValueLayout.JAVA_SHORT, IFNAMSIZ, flags);
            int rc = (int) Libc.IOCTL.invokeExact(st, fd, TUNSETIFF, ifr);
            if (rc < 0) {
                int err = Libc.errno(st);
                int ignored = (int) Libc.CLOSE.invokeExact(st, fd);
                throw new IOException("ioctl TUNSETIFF " + name + ": " + Libc.strerror(err)
                    + (err == 1 ? " (needs CAP_NET_ADMIN)" : ""));
            }
            boolean udp = false;
            if (offload) {
                long tcp = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
                rc = (int) Libc.IOCTL_VALUE.invokeExact(st, fd, TUNSETOFFLOAD, tcp | TUN_F_USO4 | TUN_F_USO6);
                udp = rc == 0;
                if (rc < 0 && Libc.errno(st) == Libc.EINVAL) {
                    rc = (int) Libc.IOCTL_VALUE.invokeExact(st, fd, TUNSETOFFLOAD, tcp);   // before Linux 6.2: no UDP
                }
                if (rc < 0) {
                    int err = Libc.errno(st);
                    int ignored = (int) Libc.CLOSE.invokeExact(st, fd);
                    throw new IOException("ioctl TUNSETOFFLOAD " + name + ": " + Libc.strerror(err));
                }
            }
            return new Tun(ifr.getString(0, StandardCharsets.US_ASCII), fd, offload, udp);
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("TUN open failed: " + t, t);
        }
    }

    public String name() {
        return name;
    }

    /** Whether reads start with a {@code virtio_net_hdr} and may hand over super-packets ({@link Offload}). */
    public boolean offload() {
        return offload;
    }

    /** Whether reads may also hand over UDP super-packets (offloads on, and the kernel took UDP's: Linux 6.2+). */
    public boolean udpOffload() {
        return udpOffload;
    }

    /**
     * Reads one packet into {@code buf}, waiting at most {@code timeoutMs}.
     *
     * @return its length, or -1 if none came in time
     */
    public int read(MemorySegment buf, int timeoutMs) throws IOException {
        try {
            long n = (long) Libc.READ.invokeExact(state, fd, buf, buf.byteSize());
            if (n >= 0) {
                return (int) n;
            }
            int err = Libc.errno(state);
            if (err != Libc.EAGAIN && err != Libc.EINTR) {
                throw new IOException("read " + name + ": " + Libc.strerror(err));
            }
            pollfd.set(ValueLayout.JAVA_INT, 0, fd);
            pollfd.set(ValueLayout.JAVA_SHORT, 4, Libc.POLLIN);
            pollfd.set(ValueLayout.JAVA_SHORT, 6, (short) 0);
            int ready = (int) Libc.POLL.invokeExact(pollfd, 1L, timeoutMs);
            if (ready <= 0 || closed) {
                return -1;
            }
            n = (long) Libc.READ.invokeExact(state, fd, buf, buf.byteSize());
            return n >= 0 ? (int) n : -1;
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("read " + name + ": " + t, t);
        }
    }

    /**
     * Reads one packet into {@code buf} if one is waiting, without waiting.
     *
     * @return its length, or -1 if none was there
     */
    public int readNow(MemorySegment buf) throws IOException {
        try {
            long n = (long) Libc.READ.invokeExact(state, fd, buf, buf.byteSize());
            if (n >= 0) {
                return (int) n;
            }
            int err = Libc.errno(state);
            if (err != Libc.EAGAIN && err != Libc.EINTR) {
                throw new IOException("read " + name + ": " + Libc.strerror(err));
            }
            return -1;
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("read " + name + ": " + t, t);
        }
    }

    /** Writes one packet (the first {@code length} bytes of {@code buf}; with offload, behind an empty header). */
    public void write(MemorySegment buf, int length) throws IOException {
        if (offload) {
            writeBehind(iov, buf, length);
            return;
        }
        try {
            check((long) Libc.WRITE.invokeExact(state, fd, buf, (long) length), length);
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("write " + name + ": " + t, t);
        }
    }

    /**
     * Writes a super-packet (offload only): one IPv4 header of {@code ipHeader} bytes and one UDP or TCP header of
     * {@code transportHeader} bytes over the payloads of a run of one flow's packets, {@code segmentPayload} bytes each
     * (the last may be shorter), with the transport checksum field holding the pseudo-header's sum; {@code gsoType}
     * is {@link Offload#GSO_UDP_L4} or {@link Offload#GSO_TCPV4}. The kernel cuts it up where it must (a UDP socket
     * takes datagrams) or takes it whole (a TCP socket takes a super-packet as it takes one made by GRO).
     */
    public void writeSuperPacket(MemorySegment buf, int length, int gsoType, int ipHeader, int transportHeader,
                                 int segmentPayload) throws IOException {
        if (!offload) {
            throw new IllegalStateException(name + " has no offloads");
        }
        Offload.segmentationHeader(gsoHeader, gsoType, ipHeader, transportHeader, segmentPayload);
        writeBehind(gsoIov, buf, length);
    }

    /** One {@code writev} of the header in {@code iovs}'s first entry and the packet ({@code iovs}'s second). */
    private void writeBehind(MemorySegment iovs, MemorySegment buf, int length) throws IOException {
        iovs.set(ValueLayout.ADDRESS, Libc.IOVEC_SIZE, buf);
        iovs.set(ValueLayout.JAVA_LONG, Libc.IOVEC_SIZE + 8, length);
        try {
            long n = (long) Libc.WRITEV.invokeExact(state, fd, iovs, 2);
            check(n < 0 ? n : n - Offload.HEADER, length);
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("write " + name + ": " + t, t);
        }
    }

    private void check(long written, int length) throws IOException {
        if (written != length) {
            throw new IOException("write " + name + ": " + (written < 0 ? Libc.strerror(Libc.errno(state))
                : "short write " + written + " of " + length));
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            int ignored = (int) Libc.CLOSE.invokeExact(state, fd);
        } catch (Throwable ignored) {
            // Closing a descriptor cannot fail in a way that matters here.
        }
        arena.close();
    }
}
