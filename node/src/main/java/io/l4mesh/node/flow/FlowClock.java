package io.l4mesh.node.flow;

/** The flow tables' second counter: monotonic, shared by every thread of the process. */
public final class FlowClock {
    private FlowClock() {
    }

    /** Seconds on the monotonic clock (only differences matter; tables keep 20 bits of it). */
    public static int seconds() {
        return seconds(System.nanoTime());
    }

    /** The same from a {@link System#nanoTime} reading the caller already has. */
    public static int seconds(long nanoTime) {
        return (int) (nanoTime / 1_000_000_000L);
    }
}
