package io.l4mesh.chaos.traffic;

import io.l4mesh.chaos.cluster.ClientSide;
import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A scenario's traffic: long-lived self-checking TCP connections, short TCP connections at a steady rate and UDP
 * request/response flows, all bounded in count and rate and sent only to the cluster's own addresses. The seed
 * fixes every connection's payload.
 *
 * <pre>{@code
 * try (Traffic t = Traffic.start(cluster.clients(), Traffic.Spec.standard(), seed, clock)) {
 *     ... inject faults ...
 *     t.stop();
 *     t.longConnections() ...
 * }
 * }</pre>
 */
public final class Traffic implements AutoCloseable {
    /**
     * How much traffic.
     *
     * @param longConnections long-lived connections (each sends a line every {@code paceMs})
     * @param shortPerSecond  new connections per second
     * @param udpFlows        UDP flows (each sends a request every {@code udpIntervalMs})
     */
    public record Spec(int longConnections, long paceMs, int shortPerSecond, int udpFlows, long udpIntervalMs) {
        public Spec {
            if (longConnections < 0 || longConnections > 1000 || shortPerSecond < 0 || shortPerSecond > 200
                || udpFlows < 0 || udpFlows > 200 || paceMs < 10 || udpIntervalMs < 10) {
                throw new IllegalArgumentException("traffic is bounded: up to 1000 long connections, 200 new "
                    + "connections a second and 200 UDP flows, paced at 10 ms or more");
            }
        }

        /** The suite's usual mix: 200 long connections (a line every 50 ms), 20 new a second, 20 UDP flows. */
        public static Spec standard() {
            return new Spec(200, 50, 20, 20, 100);
        }
    }

    /** What the traffic looks like at one moment, for the timeline. */
    public record Snapshot(int live, int stalled, int failed) {
    }

    private final AtomicBoolean stop = new AtomicBoolean();
    private final List<LongConnection> longs = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private final ShortConnections shorts;
    private final UdpFlows udp;
    private final RunClock clock;

    private Traffic(ClientSide clients, Spec spec, RunClock clock) {
        this.clock = clock;
        this.shorts = new ShortConnections(clients, spec.shortPerSecond(), clock, stop);
        this.udp = new UdpFlows(clients, spec.udpFlows(), spec.udpIntervalMs(), clock, stop);
    }

    /** Opens the long connections (all must connect), then starts every generator. */
    public static Traffic start(ClientSide clients, Spec spec, long seed, RunClock clock) throws IOException {
        Traffic t = new Traffic(clients, spec, clock);
        SplittableRandom seeds = new SplittableRandom(seed);
        try {
            for (int i = 0; i < spec.longConnections(); i++) {
                SocketChannel ch = clients.openTcp();
                try {
                    ch.socket().setTcpNoDelay(true);
                    ch.socket().connect(clients.tcpTarget(i), 5000);
                } catch (IOException e) {
                    ch.close();
                    throw new IOException("long connection " + i + " to " + clients.tcpTarget(i) + " did not open: "
                        + e.getMessage(), e);
                }
                // phases spread over one pace interval: the lines do not all leave in the same millisecond
                t.longs.add(new LongConnection(i, ch, t.stop, spec.paceMs(), spec.paceMs() * i
                    / spec.longConnections(), clock, seeds.nextLong()));
            }
            for (LongConnection c : t.longs) {
                t.threads.add(Thread.ofVirtual().name("chaos-conn-" + c.id()).start(c));
            }
            t.shorts.start();
            t.udp.start();
        } catch (IOException e) {
            t.close();
            throw e;
        }
        return t;
    }

    /** Live (echoing within the stall time), stalled (open, silent) and failed long connections now. */
    public Snapshot snapshot() {
        long now = clock.nowMs();
        int live = 0;
        int stalled = 0;
        int failed = 0;
        for (LongConnection c : longs) {
            if (c.failure() != null) {
                failed++;
            } else if (now - c.lastOkMs() > LongConnection.STALL_MS + 100) {
                stalled++;
            } else {
                live++;
            }
        }
        return new Snapshot(live, stalled, failed);
    }

    /** Whether every long connection has exchanged at least {@code n} lines and none failed. */
    public boolean warmedUp(int n) {
        return longs.stream().allMatch(c -> c.failure() == null && c.exchanges() >= n);
    }

    /** Stops every generator and waits for them (bounded). */
    public void stop() throws InterruptedException {
        stop.set(true);
        for (Thread t : threads) {
            t.join(20_000);
        }
        shorts.join();
        udp.join();
    }

    public List<LongConnection> longConnections() {
        return List.copyOf(longs);
    }

    public List<ShortConnections.Attempt> shortConnections() {
        return shorts.attempts();
    }

    public List<UdpFlows.Flow> udpFlows() {
        return udp.flows();
    }

    @Override
    public void close() {
        stop.set(true);
        longs.forEach(LongConnection::close);
        try {
            stop();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
