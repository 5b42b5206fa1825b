package io.l4mesh.node.log;

import io.micrometer.core.instrument.Counter;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

/**
 * Counts unexpected errors on the data path and logs each distinct kind once (Agrona's DistinctErrorLog): a flood of
 * the same failure costs a counter increment, not a log line per event.
 *
 * <p>Threading: any thread.
 */
public final class ErrorLog {
    private static final Logger LOG = Log.logger(ErrorLog.class);
    private final java.util.function.Function<String, Counter> counters;
    private final Map<String, Counter> seen = new ConcurrentHashMap<>();

    /** @param counters the counter for one kind of error ({@code l4mesh_errors_total{kind}}) */
    public ErrorLog(java.util.function.Function<String, Counter> counters) {
        this.counters = counters;
    }

    /** Records an error that happened at {@code where} (for example {@code tcp.relay}). */
    public void record(String where, Throwable error) {
        String kind = where + ":" + error.getClass().getSimpleName();
        Counter c = seen.get(kind);
        if (c == null) {
            c = seen.computeIfAbsent(kind, k -> {
                Log.warn(LOG, "error.first", "where", where, "kind", error.getClass().getName(), "detail",
                    String.valueOf(error.getMessage()));
                return counters.apply(k);
            });
        }
        c.increment();
    }

    /** Occurrences of one kind so far (0 if never seen). */
    public long count(String where, Class<? extends Throwable> type) {
        Counter c = seen.get(where + ":" + type.getSimpleName());
        return c == null ? 0 : (long) c.count();
    }
}
