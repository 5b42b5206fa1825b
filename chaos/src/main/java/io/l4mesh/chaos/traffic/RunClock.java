package io.l4mesh.chaos.traffic;

/** Milliseconds since a scenario started: the time base of its events, samples and records. Any thread. */
public final class RunClock {
    private final long startNanos;
    private final long startEpochMs;

    public RunClock() {
        this.startNanos = System.nanoTime();
        this.startEpochMs = System.currentTimeMillis();
    }

    public long nowMs() {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }

    /** Wall-clock time of the start, for the report. */
    public long startEpochMs() {
        return startEpochMs;
    }
}
