package io.l4mesh.chaos.bench;

import io.l4mesh.chaos.lab.Lab;
import io.l4mesh.node.packet.NetNamespace;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
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
 * client namespace, counted by a sink in the backend namespace. Also the node's CPU time per forwarded packet. The two
 * paths take turns in rounds (kernel, l4mesh, kernel, l4mesh, ...) so that a noisy moment does not decide the ratio.
 */
public final class PacketBench {
    /** One path's figures. */
    public record Result(String path, long sent, long delivered, double seconds, double deliveredPps,
                         double cpuNanosPerPacket) {
    }

    static final long MAX_PACKETS = 50_000_000L;
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
        Lab lab = new Lab(dir, false);   // the sink below takes the UDP VIP's port in the backend's namespace
        Lab.State s = lab.up(1, 1, 1, Lab.selfCommand());
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (lab.vipNextHops(Lab.UDP_VIP).isEmpty()) {
                if (System.nanoTime() > deadline) {
                    throw new IOException("the node never announced " + Lab.UDP_VIP + " (logs in " + dir + ")");
                }
                Thread.sleep(200);
            }
            AtomicLong received = new AtomicLong();
            AtomicBoolean stop = new AtomicBoolean();
            CompletableFuture<Void> sinkReady = new CompletableFuture<>();
            Thread sink = Thread.ofPlatform().daemon().start(() -> {
                try {
                    NetNamespace.call("l4lab-b1", () -> {
                        try (DatagramChannel ch = DatagramChannel.open()) {
                            ch.setOption(StandardSocketOptions.SO_RCVBUF, 8 << 20);
                            ch.bind(new InetSocketAddress(Lab.UDP_PORT));
                            ch.configureBlocking(false);
                            sinkReady.complete(null);
                            ByteBuffer buf = ByteBuffer.allocateDirect(2048);
                            while (!stop.get()) {
                                buf.clear();
                                if (ch.receive(buf) != null) {
                                    received.incrementAndGet();
                                } else {
                                    Thread.onSpinWait();
                                }
                            }
                        }
                        return null;
                    });
                } catch (Exception e) {
                    sinkReady.completeExceptionally(e);
                }
            });
            sinkReady.get(10, TimeUnit.SECONDS);
            Map<String, List<Result>> results = new LinkedHashMap<>();
            results.put("kernel", new ArrayList<>());
            results.put("l4mesh", new ArrayList<>());
            for (int round = 0; round < rounds; round++) {
                results.get("kernel").add(measure("kernel", "198.18.41.2", received, -1));
                results.get("l4mesh").add(measure("l4mesh", Lab.UDP_VIP, received, s.processes().get("node-1")));
            }
            stop.set(true);
            sink.join(5000);
            return results;
        } finally {
            lab.down();
        }
    }

    private Result measure(String name, String target, AtomicLong received, long nodePid) throws Exception {
        // Warm up (JIT, ARP, flow caches), then measure.
        blast(target, Math.min(2, seconds));
        Thread.sleep(300);
        long before = received.get();
        long cpuBefore = nodePid > 0 ? cpuNanos(nodePid) : 0;
        long t0 = System.nanoTime();
        long sent = blast(target, seconds);
        double secs = (System.nanoTime() - t0) / 1e9;
        Thread.sleep(500);   // let queues drain into the sink
        long delivered = received.get() - before;
        double cpu = nodePid > 0 && delivered > 0 ? (cpuNanos(nodePid) - cpuBefore) / (double) delivered : 0;
        return new Result(name, sent, delivered, secs, delivered / secs, cpu);
    }

    /** Sends small UDP datagrams from the client namespace for {@code secs} seconds (and at most MAX_PACKETS). */
    private long blast(String target, int secs) throws Exception {
        return NetNamespace.call("l4lab-c1", () -> {
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
        });
    }

    /** utime + stime of a process, in nanoseconds (USER_HZ 100). */
    static long cpuNanos(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * 10_000_000L;
    }
}
