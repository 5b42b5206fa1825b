package io.l4mesh.node.flow;

import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongConsumer;

/** Flow-sync totals; the sync thread adds, metrics and tests read. */
public final class FlowSyncStats {
    /** Entries put into datagrams for the peers (each entry once, however many peers). */
    final LongAdder entriesOut = new LongAdder();
    /** Entries received and applied to this node's replica (inserted or changed). */
    final LongAdder entriesIn = new LongAdder();
    /** Entries received that changed nothing (a copy this node already had, or an older decision). */
    final LongAdder entriesStale = new LongAdder();
    final LongAdder datagramsOut = new LongAdder();
    final LongAdder datagramsIn = new LongAdder();
    final LongAdder retransmits = new LongAdder();
    final LongAdder naks = new LongAdder();
    /** Sequence numbers a peer could no longer resend (each starts a resync by snapshot). */
    final LongAdder lost = new LongAdder();
    final LongAdder droppedAuth = new LongAdder();
    final LongAdder droppedMalformed = new LongAdder();
    final LongAdder droppedStale = new LongAdder();
    final LongAdder droppedUnknownListener = new LongAdder();
    final LongAdder droppedFull = new LongAdder();
    /** Data datagrams the fault seam kept from their first sending. */
    final LongAdder droppedFault = new LongAdder();
    final LongAdder snapshotsServed = new LongAdder();
    final LongAdder snapshotsPulled = new LongAdder();
    final LongAdder snapshotsFailed = new LongAdder();
    final LongAdder snapshotEntries = new LongAdder();
    /** Receives each replication lag sample in microseconds (creation on a peer to insertion here). */
    volatile LongConsumer lagMicros = x -> { };

    public void lagRecorder(LongConsumer recorder) {
        this.lagMicros = recorder;
    }

    public long entriesOut() {
        return entriesOut.sum();
    }

    public long entriesIn() {
        return entriesIn.sum();
    }

    public long entriesStale() {
        return entriesStale.sum();
    }

    public long datagramsOut() {
        return datagramsOut.sum();
    }

    public long datagramsIn() {
        return datagramsIn.sum();
    }

    public long retransmits() {
        return retransmits.sum();
    }

    public long naks() {
        return naks.sum();
    }

    public long lost() {
        return lost.sum();
    }

    /** Dropped messages or entries by reason: auth, malformed, stale, unknown_listener, full. */
    public long dropped(String reason) {
        return switch (reason) {
            case "auth" -> droppedAuth.sum();
            case "malformed" -> droppedMalformed.sum();
            case "stale" -> droppedStale.sum();
            case "unknown_listener" -> droppedUnknownListener.sum();
            case "full" -> droppedFull.sum();
            case "fault" -> droppedFault.sum();
            default -> throw new IllegalArgumentException(reason);
        };
    }

    public static final String[] DROP_REASONS = {"auth", "malformed", "stale", "unknown_listener", "full", "fault"};

    public long snapshotsServed() {
        return snapshotsServed.sum();
    }

    public long snapshotsPulled() {
        return snapshotsPulled.sum();
    }

    public long snapshotsFailed() {
        return snapshotsFailed.sum();
    }

    public long snapshotEntries() {
        return snapshotEntries.sum();
    }
}
