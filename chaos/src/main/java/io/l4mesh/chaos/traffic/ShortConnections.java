package io.l4mesh.chaos.traffic;

import io.l4mesh.chaos.cluster.ClientSide;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * New TCP connections at a steady rate: each connects (5 s at most: long enough for the SYN that TCP resends 3 s
 * after a lost first one), sends a line, reads the backend's answer (3 s at most) and closes. Records when it
 * started, how long the connect took, which backend answered or why it failed. Bounded:
 * at most {@link #MAX_IN_FLIGHT} at once; an attempt that would exceed it is counted as failed ("overloaded").
 *
 * <p>Threading: a scheduler thread and one virtual thread per attempt; {@link #attempts} from any thread.
 */
public final class ShortConnections {
    static final int CONNECT_TIMEOUT_MS = 5000;
    static final int TIMEOUT_MS = 3000;
    static final int MAX_IN_FLIGHT = 200;

    /**
     * One attempt, from {@code startMs} to {@code endMs} (run clock); {@code connectMs} -1 when it never connected;
     * {@code backend} null when it failed, then {@code failure} says why.
     */
    public record Attempt(int id, long startMs, long endMs, long connectMs, String backend, String failure) {
        public boolean ok() {
            return backend != null;
        }

        /** It connected, then broke (a reset, or no answer): what a pool change does to an established flow. */
        public boolean brokeAfterConnect() {
            return !ok() && connectMs >= 0;
        }
    }

    private final ClientSide clients;
    private final int perSecond;
    private final RunClock clock;
    private final AtomicBoolean stop;
    private final List<Attempt> attempts = new ArrayList<>();
    private final AtomicInteger inFlight = new AtomicInteger();
    private Thread scheduler;

    ShortConnections(ClientSide clients, int perSecond, RunClock clock, AtomicBoolean stop) {
        this.clients = clients;
        this.perSecond = perSecond;
        this.clock = clock;
        this.stop = stop;
    }

    void start() {
        if (perSecond <= 0) {
            return;
        }
        scheduler = Thread.ofVirtual().name("chaos-short").start(() -> {
            long periodNanos = 1_000_000_000L / perSecond;
            long next = System.nanoTime();
            int id = 0;
            while (!stop.get()) {
                int k = id++;
                long startMs = clock.nowMs();
                if (inFlight.incrementAndGet() > MAX_IN_FLIGHT) {
                    inFlight.decrementAndGet();
                    record(new Attempt(k, startMs, startMs, -1, null,
                        "overloaded: " + MAX_IN_FLIGHT + " attempts in flight"));
                } else {
                    Thread.ofVirtual().start(() -> {
                        try {
                            record(attempt(k, startMs));
                        } finally {
                            inFlight.decrementAndGet();
                        }
                    });
                }
                next += periodNanos;
                long sleep = next - System.nanoTime();
                if (sleep > 0) {
                    try {
                        Thread.sleep(sleep / 1_000_000, (int) (sleep % 1_000_000));
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }
        });
    }

    private Attempt attempt(int k, long startMs) {
        long connectMs = -1;
        try (SocketChannel ch = clients.openTcp()) {
            ch.socket().setSoTimeout(TIMEOUT_MS);
            long t0 = System.nanoTime();
            ch.socket().connect(clients.tcpTarget(k), CONNECT_TIMEOUT_MS);
            connectMs = (System.nanoTime() - t0) / 1_000_000;
            ch.socket().getOutputStream().write(("s" + k + " hello\n").getBytes(StandardCharsets.US_ASCII));
            String reply = LongConnection.readLine(ch.socket().getInputStream());
            if (reply == null || !reply.endsWith(" s" + k + " hello")) {
                return new Attempt(k, startMs, clock.nowMs(), connectMs, null,
                    reply == null ? "closed" : "wrong answer");
            }
            return new Attempt(k, startMs, clock.nowMs(), connectMs, reply.substring(0, reply.indexOf(' ')), null);
        } catch (SocketTimeoutException e) {
            return new Attempt(k, startMs, clock.nowMs(), connectMs, null,
                connectMs < 0 ? "connect timeout" : "no answer");
        } catch (IOException e) {
            String m = String.valueOf(e.getMessage());
            return new Attempt(k, startMs, clock.nowMs(), connectMs, null, m.contains("refused") ? "refused"
                : m.contains("reset") ? "reset" : e.getClass().getSimpleName() + ": " + m);
        }
    }

    private void record(Attempt a) {
        synchronized (attempts) {
            attempts.add(a);
        }
    }

    /** Every finished attempt so far, in the order they finished. */
    public List<Attempt> attempts() {
        synchronized (attempts) {
            return List.copyOf(attempts);
        }
    }

    void join() throws InterruptedException {
        if (scheduler != null) {
            scheduler.join(5000);
        }
        long deadline = System.nanoTime() + (long) (CONNECT_TIMEOUT_MS + TIMEOUT_MS) * 1_000_000;
        while (inFlight.get() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
    }
}
