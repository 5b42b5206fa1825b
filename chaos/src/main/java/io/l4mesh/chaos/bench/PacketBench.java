package io.l4mesh.chaos.bench;

import io.l4mesh.chaos.lab.Lab;
import io.l4mesh.node.packet.NetNamespace;
import io.l4mesh.node.packet.UdpSegmentReceiver;
import io.l4mesh.node.packet.UdpSegmentSender;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Packets per second delivered to a backend through one l4mesh node in packet mode versus plain kernel forwarding
 * through the same router, on the lab topology, in one run: small UDP packets from a bounded generator in the
 * client namespace, counted by a sink in the backend namespace. Also the node's CPU time per forwarded packet, one
 * bulk TCP transfer (client to backend, one connection) on each path, counted by a TCP sink beside the UDP one, and
 * the same small packets arriving merged: sent in runs of up to 64 with UDP segmentation, as QUIC stacks send, so
 * they reach the router and the node as UDP super-packets (what a NIC with {@code rx-udp-gro-forwarding} also hands
 * a node). The two paths take turns in rounds (kernel, l4mesh, kernel, l4mesh, ...) so that a noisy moment does not
 * decide the ratio.
 */
public final class PacketBench {
    /**
     * One path's figures in one round.
     *
     * @param udpGsoShare        of the small UDP packets the node forwarded, the share it sent by UDP GSO (runs of
     *                           one flow in one send); NaN on the kernel path
     * @param bulkOffloadedShare of the packets the node forwarded during the bulk transfer, the share that came as
     *                           segments of TCP super-packets (TUN offloads); NaN on the kernel path
     * @param merged             the small packets sent in runs (UDP segmentation): their own sent, delivered, pps,
     *                           node CPU per packet, and the share of the node's packets that it read as UDP
     *                           super-packets
     */
    public record Result(String path, long sent, long delivered, double seconds, double deliveredPps,
                         double cpuNanosPerPacket, double udpGsoShare, double bulkGbitPerSecond,
                         double bulkOffloadedShare, Phase merged) {
    }

    /**
     * One measured stream of small UDP packets: what was sent, what the sink counted, the node's CPU for it, and the
     * share of the node's packets that took the offload path (NaN on the kernel path).
     */
    public record Phase(long sent, long delivered, double seconds, double deliveredPps, double cpuNanosPerPacket,
                        double share) {
    }

    private static final String SEGMENTS = "l4mesh_packet_offload_total\\{[^}]*kind=\"segments\"[^}]*listener=\"vip\""
        + "[^}]*}";
    private static final String GSO_PACKETS = "l4mesh_packet_offload_total\\{[^}]*kind=\"udp_gso_packets\"[^}]*"
        + "listener=\"vip-udp\"[^}]*}";
    private static final String UDP_FORWARDED = "l4mesh_packets_total\\{[^}]*listener=\"vip-udp\"[^}]*"
        + "result=\"forwarded\"[^}]*}";
    private static final String UDP_SEGMENTS = "l4mesh_packet_offload_total\\{[^}]*kind=\"segments\"[^}]*"
        + "listener=\"vip-udp\"[^}]*}";
    private static final String FORWARDED = "l4mesh_packets_total\\{[^}]*listener=\"vip\"[^}]*result=\"forwarded\""
        + "[^}]*}";

    static final long MAX_PACKETS = 50_000_000L;
    /** Datagrams per send in the merged phase. */
    static final int RUN = UdpSegmentSender.MAX_SEGMENTS;
    private static final String BACKEND = Lab.backendNamespace(1);
    private static final String CLIENT = Lab.clientNamespace(1);
    /** The backend's own address on the lab's backend subnet: kernel forwarding's target. */
    private static final String BACKEND_ADDRESS = Lab.backendAddress(1);
    private final int seconds;
    private final int payload;
    private final Path dir;

    public PacketBench(int seconds, int payload, Path dir) {
        this.seconds = seconds;
        this.payload = payload;
        this.dir = dir;
    }

    /** Every round measures both paths, kernel first; the lists hold one result per round. */
    public Map<String, List<Result>> run(int rounds) throws Exception {
        Lab lab = new Lab(dir, false);   // the sinks below take the backend's ports (and answer its health checks)
        Lab.State s = lab.up(1, 1, 1, Lab.selfCommand());
        try {
            AtomicLong received = new AtomicLong();
            AtomicLong tcpBytes = new AtomicLong();
            AtomicBoolean stop = new AtomicBoolean();
            ServerSocketChannel tcpSink = NetNamespace.call(BACKEND, () -> {
                ServerSocketChannel ch = ServerSocketChannel.open();
                ch.bind(new InetSocketAddress(Lab.PORT));   // [::]: the VIP's service port, decapsulated here
                return ch;
            });
            try (tcpSink) {
                Thread.ofPlatform().daemon().name("bench-tcp-sink").start(() -> acceptLoop(tcpSink, tcpBytes));
                CompletableFuture<Void> sinkReady = new CompletableFuture<>();
                Thread sink = Thread.ofPlatform().daemon().start(() -> {
                    try {
                        NetNamespace.call(BACKEND, () -> {
                            // It waits while nothing comes (a sink that spins takes a core from the paths it
                            // measures on a small machine), and takes a run of one flow's datagrams in one receive
                            // where the kernel kept them together (UDP GRO), so that it does not bound the paths.
                            try (Arena arena = Arena.ofConfined();
                                 UdpSegmentReceiver r = new UdpSegmentReceiver(arena, Lab.UDP_PORT, 200)) {
                                sinkReady.complete(null);
                                while (!stop.get()) {
                                    received.addAndGet(r.receive());
                                }
                            }
                            return null;
                        });
                    } catch (Exception e) {
                        sinkReady.completeExceptionally(e);
                    }
                });
                sinkReady.get(10, TimeUnit.SECONDS);
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (lab.vipNextHops(Lab.UDP_VIP).isEmpty()) {   // the node routes its VIPs once its backend is up
                    if (System.nanoTime() > deadline) {
                        throw new IOException("the node never announced " + Lab.UDP_VIP + " (logs in " + dir + ")");
                    }
                    Thread.sleep(200);
                }
                Map<String, List<Result>> results = new LinkedHashMap<>();
                results.put("kernel", new ArrayList<>());
                results.put("l4mesh", new ArrayList<>());
                for (int round = 0; round < rounds; round++) {
                    results.get("kernel").add(measure("kernel", BACKEND_ADDRESS, BACKEND_ADDRESS, received, tcpBytes,
                        -1, null));
                    results.get("l4mesh").add(measure("l4mesh", Lab.UDP_VIP, Lab.VIP, received, tcpBytes,
                        s.processes().get("node-1"), lab));
                }
                stop.set(true);
                sink.join(5000);
                return results;
            } finally {
                stop.set(true);   // the UDP sink runs until told, also when a measurement failed
            }
        } finally {
            lab.down();
        }
    }

    /** @param lab the lab whose node 1 is on the path (its counters are read), or null for the kernel path */
    private Result measure(String name, String target, String tcpTarget, AtomicLong received, AtomicLong tcpBytes,
                           long nodePid, Lab lab) throws Exception {
        Phase single = phase(target, false, received, nodePid, lab);
        double[] c1 = counters(lab);
        double gbit = bulk(tcpTarget, tcpBytes);
        double[] c2 = counters(lab);
        Phase merged = phase(target, true, received, nodePid, lab);
        return new Result(name, single.sent(), single.delivered(), single.seconds(), single.deliveredPps(),
            single.cpuNanosPerPacket(), single.share(), gbit, share(c1, c2, 1, 0), merged);
    }

    /**
     * Warms up (JIT, ARP, flow caches), then sends small UDP packets one by one or in runs ({@code merged}) for the
     * measurement's length and counts what the sink received; the share is of the node's forwarded UDP packets, those
     * it sent by UDP GSO (one by one) or read as super-packets (merged).
     */
    private Phase phase(String target, boolean merged, AtomicLong received, long nodePid, Lab lab) throws Exception {
        blast(target, Math.min(2, seconds), merged);
        Thread.sleep(300);
        long before = received.get();
        long cpuBefore = nodePid > 0 ? cpuNanos(nodePid) : 0;
        double[] c0 = counters(lab);
        long t0 = System.nanoTime();
        long sent = blast(target, seconds, merged);
        double secs = (System.nanoTime() - t0) / 1e9;
        Thread.sleep(500);   // let queues drain into the sink
        long delivered = received.get() - before;
        // NaN: not measured (no node on the kernel path)
        double cpu = nodePid > 0 && delivered > 0 ? (cpuNanos(nodePid) - cpuBefore) / (double) delivered : Double.NaN;
        return new Phase(sent, delivered, secs, delivered / secs, cpu, share(c0, counters(lab), 2, merged ? 4 : 3));
    }

    /**
     * Node 1's counters: bulk forwarded, bulk segments of super-packets, UDP forwarded, UDP sent by GSO, UDP segments
     * of super-packets.
     */
    private static double[] counters(Lab lab) throws Exception {
        return lab == null ? null : new double[] {lab.metricSum(1, FORWARDED), lab.metricSum(1, SEGMENTS),
            lab.metricSum(1, UDP_FORWARDED), lab.metricSum(1, GSO_PACKETS), lab.metricSum(1, UDP_SEGMENTS)};
    }

    /** Between two readings, counter {@code part} as a share of counter {@code whole}; NaN without a node. */
    private static double share(double[] from, double[] to, int whole, int part) {
        if (from == null) {
            return Double.NaN;
        }
        double w = to[whole] - from[whole];
        return w > 0 ? (to[part] - from[part]) / w : 0;
    }

    /** One TCP connection from the client sending as fast as it can for the measurement's length: Gbit/s that arrived. */
    private double bulk(String target, AtomicLong tcpBytes) throws Exception {
        return NetNamespace.call(CLIENT, () -> {
            try (SocketChannel ch = SocketChannel.open()) {
                ch.socket().connect(new InetSocketAddress(target, Lab.PORT), 5000);
                ByteBuffer buf = ByteBuffer.allocateDirect(256 * 1024);
                long before = tcpBytes.get();
                long t0 = System.nanoTime();
                long end = t0 + TimeUnit.SECONDS.toNanos(seconds);
                while (System.nanoTime() < end) {
                    buf.clear();
                    ch.write(buf);
                }
                double secs = (System.nanoTime() - t0) / 1e9;
                return (tcpBytes.get() - before) * 8 / secs / 1e9;
            }
        });
    }

    /**
     * The backend's TCP sink: counts every byte of every connection, and answers the pool's health probe (the lab's
     * pools send "health\n" and expect " health" back, as from its demo backends).
     */
    private static void acceptLoop(ServerSocketChannel server, AtomicLong bytes) {
        byte[] probe = "health\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        while (server.isOpen()) {
            try {
                SocketChannel c = server.accept();
                Thread.ofPlatform().daemon().name("bench-tcp-conn").start(() -> {
                    ByteBuffer buf = ByteBuffer.allocateDirect(256 * 1024);
                    try (c) {
                        int n;
                        boolean first = true;
                        while ((n = c.read(buf.clear())) >= 0) {
                            if (first && n == probe.length && buf.flip().equals(ByteBuffer.wrap(probe))) {
                                c.write(ByteBuffer.wrap("sink health\n".getBytes(
                                    java.nio.charset.StandardCharsets.US_ASCII)));
                                return;
                            }
                            first = false;
                            bytes.addAndGet(n);
                        }
                    } catch (IOException ignored) {
                        // the client went away
                    }
                });
            } catch (IOException e) {
                return;   // closed at the end of the run
            }
        }
    }

    /**
     * Sends small UDP datagrams from the client namespace for {@code secs} seconds (and at most MAX_PACKETS): one per
     * send, or {@code merged} in runs of {@link #RUN} per send (UDP segmentation). Returns the datagrams that left.
     */
    private long blast(String target, int secs, boolean merged) throws Exception {
        return NetNamespace.call(CLIENT, () -> merged ? blastRuns(target, secs) : blastOneByOne(target, secs));
    }

    private long blastOneByOne(String target, int secs) throws IOException {
        try (DatagramChannel ch = DatagramChannel.open()) {
            ch.setOption(StandardSocketOptions.SO_SNDBUF, 8 << 20);
            ch.connect(new InetSocketAddress(target, Lab.UDP_PORT));
            ByteBuffer buf = ByteBuffer.allocateDirect(payload);
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(secs);
            long n = 0;
            while (n < MAX_PACKETS) {
                if ((n & 1023) == 0 && System.nanoTime() >= end) {
                    break;   // read the clock once per 1024 packets
                }
                buf.clear();
                try {
                    ch.write(buf);
                    n++;
                } catch (IOException e) {
                    Thread.onSpinWait();   // ENOBUFS under load: count only what left
                }
            }
            return n;
        }
    }

    private long blastRuns(String target, int secs) throws IOException {
        int perRun = Math.min(RUN, UdpSegmentSender.MAX_PAYLOAD / payload);
        InetSocketAddress to = new InetSocketAddress(target, Lab.UDP_PORT);
        try (Arena arena = Arena.ofConfined(); UdpSegmentSender sender = new UdpSegmentSender(arena, payload)) {
            MemorySegment run = arena.allocate((long) perRun * payload);
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(secs);
            long n = 0;
            long sends = 0;
            while (n < MAX_PACKETS) {
                if ((sends++ & 63) == 0 && System.nanoTime() >= end) {
                    break;
                }
                if (sender.send(run, to)) {
                    n += perRun;
                } else {
                    Thread.onSpinWait();   // no room under load: count only what left
                }
            }
            return n;
        }
    }

    /** utime + stime of a process, in nanoseconds (USER_HZ 100). */
    static long cpuNanos(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * 10_000_000L;
    }
}
