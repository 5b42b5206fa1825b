package io.l4mesh.node.flow;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The replica registry of flow sync: one {@link ListenerFlows} per packet listener, and the rule that puts a
 * received decision into a replica (last writer wins on the decision's version; a decision that changed a flow
 * the replica already had goes to every packet thread's inbox).
 *
 * <p>Threading: {@link #register} and {@link #retire} on the control thread; the array of listeners is replaced
 * by reference, under this object's lock by its two writers (register, and the sweep that forgets retired ones); {@link #apply}, {@link #applyQueued}, {@link #sweep} and {@link #close} on the sync thread, which owns
 * the replicas' contents; {@link #queue} and {@link #applied} on any thread (snapshot pulls hand their frames to
 * the sync thread through it).
 */
final class FlowReplicas {
    /** A replica is swept (expired entries removed) once per this period, a share of it every 100 ms. */
    static final long SWEEP_NANOS = 10_000_000_000L;
    private static final long SWEEP_STEP_NANOS = 100_000_000;

    private final FlowSyncStats stats;
    private volatile ListenerFlows[] listeners = new ListenerFlows[0];
    private final ConcurrentLinkedQueue<ByteBuffer> queued = new ConcurrentLinkedQueue<>();
    /** Frames queued and frames applied (FIFO: a ticket is done when {@link #appliedCount} reaches it). */
    private final AtomicLong queuedCount = new AtomicLong();
    private final AtomicLong appliedCount = new AtomicLong();
    private long lastSweepNanos;

    FlowReplicas(FlowSyncStats stats, long nowNanos) {
        this.stats = stats;
        this.lastSweepNanos = nowNanos;
    }

    /** Registers a listener: its replica is sized like its flow table. Control thread. */
    synchronized ListenerFlows register(String name, long maxEntries, int[] timeouts, int threads) {
        ListenerFlows lf = new ListenerFlows(name, new FlowTable(maxEntries, timeouts, true), threads, 16_384);
        for (ListenerFlows other : listeners) {
            if (other.id == lf.id && !other.retired) {
                lf.replica.close();
                throw new IllegalStateException("listener " + name + " is already registered for flow sync");
            }
        }
        ListenerFlows[] next = Arrays.copyOf(listeners, listeners.length + 1);
        next[next.length - 1] = lf;
        listeners = next;
        return lf;
    }

    /** Stops syncing a listener (its packet threads have stopped); the next {@link #sweep} frees its replica. */
    void retire(ListenerFlows lf) {
        lf.retired = true;
    }

    /** Every registered listener (retired ones included until swept: callers skip {@code retired}). */
    ListenerFlows[] all() {
        return listeners;
    }

    /** Applies the entries of a checked message (a datagram, or a snapshot frame) in {@code b}. Sync thread. */
    void apply(ByteBuffer b, boolean snapshot) {
        int sec = FlowClock.seconds();
        long nowMs = System.currentTimeMillis();
        ListenerFlows[] ls = listeners;
        int count = SyncCodec.count(b);
        for (int i = 0; i < count; i++) {
            ListenerFlows lf = find(ls, SyncCodec.entryListener(b, i));
            if (lf == null) {
                stats.droppedUnknownListener.increment();
                continue;
            }
            long hi = SyncCodec.entrySrcHi(b, i);
            long lo = SyncCodec.entrySrcLo(b, i);
            int ports = SyncCodec.entryPorts(b, i);
            int backend = SyncCodec.entryBackend(b, i);
            long vs = SyncCodec.entryVersionState(b, i);
            int state = FlowEntry.state(vs);
            long version = FlowEntry.version(vs);
            int r = lf.replica.upsert(hi, lo, ports, backend, version, state & 3, sec);
            count(r, snapshot, state, version, nowMs);
            if (r == FlowTable.UPDATED) {
                propagate(lf, hi, lo, ports, backend, version, state & 3);
            }
        }
    }

    private void count(int result, boolean snapshot, int state, long version, long nowMs) {
        switch (result) {
            case FlowTable.INSERTED, FlowTable.UPDATED -> {
                stats.entriesIn.increment();
                if (snapshot) {
                    stats.snapshotEntries.increment();
                } else if ((state & SyncCodec.NOT_FRESH) == 0) {
                    long lagMs = nowMs - (FlowTable.VERSION_EPOCH_MS + version);
                    stats.lagMicros.accept(Math.max(0, lagMs) * 1000);
                }
            }
            case FlowTable.FULL -> stats.droppedFull.increment();
            default -> stats.entriesStale.increment();
        }
    }

    /**
     * A received decision changed a flow this node already knew: every packet thread hears of it, and one that holds
     * the flow with an older decision takes this one. A full inbox drops it (counted as {@code full}).
     */
    private void propagate(ListenerFlows lf, long hi, long lo, int ports, int backend, long version, int state) {
        for (Outbox in : lf.inboxes) {
            if (!in.offer(hi, lo, ports, backend, version, state)) {
                stats.droppedFull.increment();
            }
        }
    }

    private static ListenerFlows find(ListenerFlows[] ls, int id) {
        for (ListenerFlows lf : ls) {
            if (lf.id == id && !lf.retired) {
                return lf;
            }
        }
        return null;
    }

    /** Queues a copy of a checked snapshot frame for the sync thread. Any thread. @return its ticket */
    long queue(ByteBuffer frame) {
        synchronized (queued) {    // ticket order must match queue order
            queued.add(frame);
            return queuedCount.incrementAndGet();
        }
    }

    /** Whether the frame with {@code ticket} (and every one before it) has been applied. Any thread. */
    boolean applied(long ticket) {
        return appliedCount.get() >= ticket;
    }

    /** Applies the queued snapshot frames. Sync thread. */
    void applyQueued() {
        ByteBuffer frame;
        while ((frame = queued.poll()) != null) {
            apply(frame, true);
            appliedCount.incrementAndGet();
        }
    }

    /** Frees retired replicas and removes expired entries, a share of each replica per 100 ms. Sync thread. */
    void sweep(long nowNanos) {
        long elapsed = nowNanos - lastSweepNanos;
        if (elapsed < SWEEP_STEP_NANOS) {
            return;
        }
        lastSweepNanos = nowNanos;
        int sec = FlowClock.seconds();
        boolean anyRetired = false;
        for (ListenerFlows lf : listeners) {
            if (lf.retired) {
                anyRetired = true;
            } else {
                long budget = lf.replica.capacity() * elapsed / SWEEP_NANOS + 1;
                lf.replica.sweep(sec, budget, null);
            }
        }
        if (anyRetired) {
            removeRetired();
        }
    }

    /** Frees and forgets retired listeners; synchronized with {@link #register}, the array's other writer. */
    private synchronized void removeRetired() {
        List<ListenerFlows> keep = new ArrayList<>();
        for (ListenerFlows lf : listeners) {
            if (lf.retired) {
                lf.replica.close();
            } else {
                keep.add(lf);
            }
        }
        listeners = keep.toArray(new ListenerFlows[0]);
    }

    /** Frees every replica (the sync thread is ending). */
    void close() {
        for (ListenerFlows lf : listeners) {
            lf.replica.close();
        }
    }
}
