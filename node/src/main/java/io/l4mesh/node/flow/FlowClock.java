package io.l4mesh.node.flow;

/** The flow tables' second counter: monotonic, shared by every thread of the process. */
public final class FlowClock {
    private FlowClock() {
    }

    /** Seconds on the monotonic clock (only differences matter; tables keep 20 bits of it). */
    public static int seconds() {
        return (int) (System.nanoTime() / 1_000_000_000L);
    }
}
