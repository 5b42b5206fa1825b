package io.l4mesh.membership.codec;

import java.lang.System.Logger.Level;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counts gossip frames refused, by reason, and logs them at a limited rate: the first of each reason at once, then
 * at most one line per reason every {@link #LOG_INTERVAL_NANOS} with the count since the last line. A flood costs
 * counters, not log lines.
 *
 * <p>Threading: any thread.
 */
public final class Rejections {
    /** Why a frame was refused. */
    public enum Reason { TRUNCATED, MALFORMED, BAD_MAC, STALE, REPLAY }

    static final long LOG_INTERVAL_NANOS = 10_000_000_000L;
    private static final System.Logger LOG = System.getLogger(Rejections.class.getName());

    private final Map<Reason, LongAdder> counts = new EnumMap<>(Reason.class);
    private final Map<Reason, AtomicLong> lastLog = new EnumMap<>(Reason.class);
    private final Map<Reason, LongAdder> sinceLog = new EnumMap<>(Reason.class);

    public Rejections() {
        for (Reason r : Reason.values()) {
            counts.put(r, new LongAdder());
            lastLog.put(r, new AtomicLong(Long.MIN_VALUE));
            sinceLog.put(r, new LongAdder());
        }
    }

    void record(Reason reason, String detail) {
        counts.get(reason).increment();
        sinceLog.get(reason).increment();
        long now = System.nanoTime();
        AtomicLong last = lastLog.get(reason);
        long prev = last.get();
        if ((prev == Long.MIN_VALUE || now - prev >= LOG_INTERVAL_NANOS) && last.compareAndSet(prev, now)) {
            long n = sinceLog.get(reason).sumThenReset();
            LOG.log(Level.WARNING, "event=gossip.rejected reason=" + reason.name().toLowerCase() + " count=" + n
                + " detail=\"" + detail.replace('"', '\'') + "\"");
        }
    }

    /** Frames refused for {@code reason} so far. */
    public long count(Reason reason) {
        return counts.get(reason).sum();
    }

    /** Frames refused for any reason so far. */
    public long total() {
        long t = 0;
        for (LongAdder a : counts.values()) {
            t += a.sum();
        }
        return t;
    }
}
