package io.l4mesh.chaos.traffic;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.zip.CRC32;

/**
 * One long-lived TCP connection that checks itself: every {@code paceMs} it sends a numbered, checksummed line
 * ({@code c<id> n<seq> <48 letters> <crc32>}), and the backend echoes it after its name. Each echo must be the line
 * sent, and every echo must come from the same backend. It records every stall (no echo for longer than
 * {@link #STALL_MS}), and the first failure: a reset, a close, a wrong echo, a move to another backend, a timeout.
 *
 * <p>Threading: {@link #run} on its own (virtual) thread; the volatile fields are read by samplers and the report.
 */
public final class LongConnection implements Runnable {
    /** A gap between echoes longer than this is a stall. */
    public static final long STALL_MS = 500;
    /** No echo for this long ends the connection as timed out. */
    static final int READ_TIMEOUT_MS = 15_000;

    /** How a connection failed. */
    public enum Failure { RESET, CLOSED, WRONG_ECHO, MOVED, TIMEOUT, IO }

    /** A stall: when it began (ms on the run's clock) and how long it lasted. */
    public record Stall(long atMs, long ms) {
    }

    /** What a connection did, once the run is over (or now). */
    public record Result(int id, int localPort, String backend, Failure failure, String detail, long failedAtMs,
                         long exchanges, long maxGapMs, List<Stall> stalls, long lastEchoMs) {
        /** Whether the connection ended or hangs: it failed, or no echo came back since {@code sinceMs}. */
        public boolean endedSince(long sinceMs) {
            return failure != null || lastEchoMs < sinceMs;
        }
    }

    /** What this connection did so far. */
    public Result result() {
        int port;
        try {
            port = channel.socket().getLocalPort();
        } catch (RuntimeException e) {
            port = -1;
        }
        return new Result(id, port, backend, failure, detail, failedAtMs, exchanges, maxGapMs, stalls(), lastOkMs);
    }

    private final int id;
    private final SocketChannel channel;
    private final AtomicBoolean stop;
    private final long paceMs;
    private final RunClock clock;
    private final SplittableRandom random;
    private final List<Stall> stalls = new ArrayList<>();
    private volatile String backend;
    private volatile Failure failure;
    private volatile String detail;
    private volatile long failedAtMs = -1;
    private volatile long exchanges;
    private volatile long lastOkMs;
    private volatile long maxGapMs;

    private final long phaseMs;

    /** @param phaseMs when, within the first pace interval, this connection starts (spreads the lines out) */
    LongConnection(int id, SocketChannel connected, AtomicBoolean stop, long paceMs, long phaseMs, RunClock clock,
                   long seed) {
        this.id = id;
        this.phaseMs = phaseMs;
        this.channel = connected;
        this.stop = stop;
        this.paceMs = paceMs;
        this.clock = clock;
        this.random = new SplittableRandom(seed);
        this.lastOkMs = clock.nowMs();
    }

    /** The line number {@code seq} of connection {@code id}: its text and checksum. */
    static String line(int id, long seq, SplittableRandom r) {
        StringBuilder b = new StringBuilder("c").append(id).append(" n").append(seq).append(' ');
        for (int i = 0; i < 48; i++) {
            b.append((char) ('a' + r.nextInt(26)));
        }
        CRC32 crc = new CRC32();
        crc.update(b.toString().getBytes(StandardCharsets.US_ASCII));
        return b.append(' ').append(String.format("%08x", crc.getValue())).toString();
    }

    /** Whether an echoed line's checksum matches its text. */
    static boolean checksumOk(String line) {
        int sp = line.lastIndexOf(' ');
        if (sp < 0) {
            return false;
        }
        CRC32 crc = new CRC32();
        crc.update(line.substring(0, sp).getBytes(StandardCharsets.US_ASCII));
        return line.substring(sp + 1).equals(String.format("%08x", crc.getValue()));
    }

    @Override
    public void run() {
        try (channel) {
            Thread.sleep(phaseMs);
            lastOkMs = clock.nowMs();     // the gaps count from here, not from when the socket connected
            channel.socket().setSoTimeout(READ_TIMEOUT_MS);
            OutputStream out = channel.socket().getOutputStream();
            InputStream in = channel.socket().getInputStream();
            long seq = 0;
            while (!stop.get()) {
                String line = line(id, seq, random);
                out.write((line + "\n").getBytes(StandardCharsets.US_ASCII));
                out.flush();
                String reply = readLine(in);
                long now = clock.nowMs();
                if (reply == null) {
                    fail(Failure.CLOSED, "closed by the far end", now);
                    return;
                }
                int sp = reply.indexOf(' ');
                String who = sp < 0 ? reply : reply.substring(0, sp);
                String echo = sp < 0 ? "" : reply.substring(sp + 1);
                if (!echo.equals(line) || !checksumOk(echo)) {
                    fail(Failure.WRONG_ECHO, "wrong echo for n" + seq + ": " + abbreviate(reply), now);
                    return;
                }
                if (backend == null) {
                    backend = who;
                } else if (!backend.equals(who)) {
                    fail(Failure.MOVED, "moved from " + backend + " to " + who, now);
                    return;
                }
                long gap = now - lastOkMs;
                if (gap > paceMs + STALL_MS) {
                    synchronized (stalls) {
                        stalls.add(new Stall(lastOkMs + paceMs, gap - paceMs));
                    }
                }
                maxGapMs = Math.max(maxGapMs, gap - paceMs);
                lastOkMs = now;
                exchanges = ++seq;
                Thread.sleep(paceMs);
            }
        } catch (SocketTimeoutException e) {
            fail(Failure.TIMEOUT, "no echo in " + READ_TIMEOUT_MS + " ms", clock.nowMs());
        } catch (SocketException e) {
            String m = String.valueOf(e.getMessage());
            fail(m.contains("reset") ? Failure.RESET : Failure.IO, e.getClass().getSimpleName() + ": " + m,
                clock.nowMs());
        } catch (EOFException e) {
            fail(Failure.CLOSED, "closed by the far end", clock.nowMs());
        } catch (IOException e) {
            if (!stop.get()) {
                fail(Failure.IO, e.getClass().getSimpleName() + ": " + e.getMessage(), clock.nowMs());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void fail(Failure f, String why, long atMs) {
        if (stop.get() && f != Failure.WRONG_ECHO && f != Failure.MOVED) {
            return;    // the run ended it
        }
        detail = why;
        failedAtMs = atMs;
        failure = f;
    }

    private static String abbreviate(String s) {
        return s.length() <= 100 ? s : s.substring(0, 100) + "...";
    }

    /** Reads one line without buffering past it. */
    static String readLine(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0) {
            if (c == '\n') {
                return sb.toString();
            }
            sb.append((char) c);
            if (sb.length() > 4096) {
                throw new IOException("line longer than 4096 bytes");
            }
        }
        return sb.isEmpty() ? null : sb.toString();
    }

    /** Closes the socket (the run is over). */
    void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing is best effort
        }
    }

    public int id() {
        return id;
    }

    /** The client's port (the flow's source port). */
    public int localPort() {
        return channel.socket().getLocalPort();
    }

    public String backend() {
        return backend;
    }

    public Failure failure() {
        return failure;
    }

    public String detail() {
        return detail;
    }

    public long failedAtMs() {
        return failedAtMs;
    }

    public long exchanges() {
        return exchanges;
    }

    public long lastOkMs() {
        return lastOkMs;
    }

    public long maxGapMs() {
        return maxGapMs;
    }

    public List<Stall> stalls() {
        synchronized (stalls) {
            return List.copyOf(stalls);
        }
    }
}
