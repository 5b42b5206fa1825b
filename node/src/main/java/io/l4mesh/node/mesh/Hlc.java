package io.l4mesh.node.mesh;

/**
 * A hybrid logical clock packed in a long: wall-clock milliseconds in the high 48 bits, a counter in the low 16.
 * Stamps from one node only grow, and a node that has seen a stamp issues only larger ones, so causally later
 * writes win even between nodes whose clocks differ a little.
 *
 * <p>Threading: the control thread's.
 */
final class Hlc {
    private long last;

    /** A new stamp, larger than every stamp issued or observed so far. */
    long now(long wallMs) {
        last = Math.max(last + 1, wallMs << 16);
        return last;
    }

    /** Takes note of a stamp from another node. */
    void observe(long stamp) {
        if (stamp > last) {
            last = stamp;
        }
    }

    /** The wall-clock part of a stamp. */
    static long millis(long stamp) {
        return stamp >>> 16;
    }
}
