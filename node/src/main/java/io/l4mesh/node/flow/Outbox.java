package io.l4mesh.node.flow;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A single-producer single-consumer ring of flow entries (four longs each) from one packet thread to the sync
 * thread. Never blocks and never allocates: when it is full the entry is refused and the producer counts it.
 *
 * <p>Threading: {@link #offer} on the producer thread only; {@link #poll} on the consumer thread only.
 */
public final class Outbox {
    private static final VarHandle HEAD;
    private static final VarHandle TAIL;

    static {
        try {
            HEAD = MethodHandles.lookup().findVarHandle(Outbox.class, "head", long.class);
            TAIL = MethodHandles.lookup().findVarHandle(Outbox.class, "tail", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final long[] ring;
    private final int mask;
    /** Next entry to read (consumer). */
    @SuppressWarnings("unused")
    private volatile long head;
    /** Next entry to write (producer). */
    @SuppressWarnings("unused")
    private volatile long tail;
    /** Producer's cached view of head. */
    private long headCache;

    /** @param entries capacity, rounded up to a power of two */
    public Outbox(int entries) {
        int n = Integer.highestOneBit(Math.max(2, entries - 1)) << 1;
        this.ring = new long[n * 4];
        this.mask = n - 1;
    }

    /**
     * Queues an entry: the flow key ({@code srcHi}, {@code srcLo}, {@code ports}), its backend, and its version and
     * state.
     *
     * @return false when the ring is full (nothing queued)
     */
    public boolean offer(long srcHi, long srcLo, int ports, int backendId, long version, int state) {
        long t = (long) TAIL.getOpaque(this);
        if (t - headCache > mask) {
            headCache = (long) HEAD.getAcquire(this);
            if (t - headCache > mask) {
                return false;
            }
        }
        int at = (int) (t & mask) * 4;
        ring[at] = srcHi;
        ring[at + 1] = srcLo;
        ring[at + 2] = FlowEntry.portsBackend(ports, backendId);
        ring[at + 3] = FlowEntry.versionState(version, state);
        TAIL.setRelease(this, t + 1);
        return true;
    }

    /** Takes up to {@code max} entries into {@code out} (four longs each, laid out as {@link FlowEntry} says). */
    public int poll(long[] out, int max) {
        long h = (long) HEAD.getOpaque(this);
        long t = (long) TAIL.getAcquire(this);
        int n = (int) Math.min(max, t - h);
        for (int i = 0; i < n; i++) {
            int at = (int) ((h + i) & mask) * 4;
            System.arraycopy(ring, at, out, i * 4, 4);
        }
        HEAD.setRelease(this, h + n);
        return n;
    }
}
