package io.l4mesh.node.flow;

import java.util.concurrent.atomic.LongAdder;

/**
 * One packet listener's part of flow sync: its replica (every flow of the VIP the cluster told this node about,
 * its own included; written by the sync thread, read by the packet threads on a miss), one outbox per packet
 * thread for the entries it creates or changes, and one inbox per packet thread for received decisions that
 * changed a flow the replica already had (a packet thread holding that flow takes the newer decision).
 */
public final class ListenerFlows {
    final String name;
    final int id;
    final FlowTable replica;
    final Outbox[] outboxes;
    final Outbox[] inboxes;
    /** Entries a packet thread could not queue (outbox full: the sync thread or the rate limit is behind). */
    final LongAdder outboxFull = new LongAdder();
    volatile boolean retired;

    ListenerFlows(String name, FlowTable replica, int threads, int outboxEntries) {
        this.name = name;
        this.id = listenerId(name);
        this.replica = replica;
        this.outboxes = new Outbox[threads];
        this.inboxes = new Outbox[threads];
        for (int i = 0; i < threads; i++) {
            outboxes[i] = new Outbox(outboxEntries);
            inboxes[i] = new Outbox(outboxEntries / 4);
        }
    }

    /** A listener's name on the wire: 32 bits of XXH64 of its name (listeners carry the same names on every node). */
    public static int listenerId(String name) {
        return (int) io.l4mesh.hashring.XxHash64.hash(name, 0x6C346C697374656EL);
    }

    public String name() {
        return name;
    }

    public FlowTable replica() {
        return replica;
    }

    /** The outbox of packet thread {@code thread}. */
    public Outbox outbox(int thread) {
        return outboxes[thread];
    }

    /** The inbox of packet thread {@code thread} (changed decisions from the peers). */
    public Outbox inbox(int thread) {
        return inboxes[thread];
    }

    /** Counts an entry a packet thread could not queue. */
    public void outboxFull() {
        outboxFull.increment();
    }

    public long outboxFullTotal() {
        return outboxFull.sum();
    }
}
