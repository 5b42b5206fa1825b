package io.l4mesh.node.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The replica rules without sockets or threads: last writer wins, changed decisions reach the packet threads. */
class FlowReplicasTest {
    private static final int[] TIMEOUTS = {1, 30, 900, 60};
    private static final int PORTS = FlowTable.ports(40_000, 443);
    private final FlowSyncStats stats = new FlowSyncStats();
    private final FlowReplicas replicas = new FlowReplicas(stats, 0);

    @AfterEach
    void close() {
        replicas.close();
    }

    /** One message holding one entry for {@code listener}, as a datagram carries it. */
    private static ByteBuffer message(int listener, long srcLo, int backend, long version, int state) {
        ByteBuffer b = ByteBuffer.allocate(SyncCodec.MAX_DATAGRAM);
        SyncCodec.header(b, SyncCodec.DATA, 1, 1, 1, 0, System.currentTimeMillis());
        SyncCodec.entry(b, listener, 0, srcLo, PORTS, backend, version, state);
        return b;
    }

    private static int backendOf(ListenerFlows lf, long srcLo) {
        long slot = lf.replica().find(0, srcLo, PORTS);
        return slot < 0 ? -1 : lf.replica().backendId(slot);
    }

    @Test
    void anOlderDecisionNeverReplacesANewerOne() {
        ListenerFlows lf = replicas.register("vip", 1024, TIMEOUTS, 2);
        replicas.apply(message(lf.id, 7, 11, 100, FlowTable.ESTABLISHED), false);
        replicas.apply(message(lf.id, 7, 22, 90, FlowTable.ESTABLISHED), false);
        assertEquals(11, backendOf(lf, 7));
        assertEquals(1, stats.entriesIn.sum());
        assertEquals(1, stats.entriesStale.sum());
    }

    @Test
    void aNewerDecisionForAKnownFlowReachesEveryPacketThread() {
        ListenerFlows lf = replicas.register("vip", 1024, TIMEOUTS, 2);
        replicas.apply(message(lf.id, 7, 11, 100, FlowTable.ESTABLISHED), false);
        long[] out = new long[4];
        assertEquals(0, lf.inbox(0).poll(out, 1), "a new flow is not pushed: packet threads read the replica");
        replicas.apply(message(lf.id, 7, 22, 110, FlowTable.ESTABLISHED), false);
        assertEquals(22, backendOf(lf, 7));
        for (int t = 0; t < 2; t++) {
            assertEquals(1, lf.inbox(t).poll(out, 1));
            assertEquals(22, FlowEntry.backend(out[2]));
            assertEquals(110, FlowEntry.version(out[3]));
            assertEquals(FlowTable.ESTABLISHED, FlowEntry.state(out[3]));
        }
    }

    @Test
    void anEntryForAListenerThisNodeLacksIsCountedAndDropped() {
        ListenerFlows lf = replicas.register("vip", 1024, TIMEOUTS, 1);
        replicas.apply(message(lf.id + 1, 7, 11, 100, FlowTable.ESTABLISHED), false);
        assertEquals(1, stats.droppedUnknownListener.sum());
        assertEquals(-1, backendOf(lf, 7));
    }

    @Test
    void aRetiredListenerIsForgottenAndItsNameCanComeBack() {
        ListenerFlows lf = replicas.register("vip", 1024, TIMEOUTS, 1);
        assertThrows(IllegalStateException.class, () -> replicas.register("vip", 1024, TIMEOUTS, 1));
        replicas.retire(lf);
        replicas.apply(message(lf.id, 7, 11, 100, FlowTable.ESTABLISHED), false);
        assertEquals(1, stats.droppedUnknownListener.sum(), "a retired replica takes no entries");
        replicas.sweep(1_000_000_000L);
        assertEquals(0, replicas.all().length);
        ListenerFlows again = replicas.register("vip", 1024, TIMEOUTS, 1);
        replicas.apply(message(again.id, 7, 11, 100, FlowTable.ESTABLISHED), false);
        assertEquals(11, backendOf(again, 7));
    }

    @Test
    void queuedSnapshotFramesAreAppliedInOrderAndTheirTicketsSaySo() {
        ListenerFlows lf = replicas.register("vip", 1024, TIMEOUTS, 1);
        long first = replicas.queue(message(lf.id, 7, 11, 100, FlowTable.ESTABLISHED | SyncCodec.NOT_FRESH));
        long second = replicas.queue(message(lf.id, 7, 22, 110, FlowTable.ESTABLISHED | SyncCodec.NOT_FRESH));
        assertFalse(replicas.applied(first));
        replicas.applyQueued();
        assertTrue(replicas.applied(second));
        assertEquals(22, backendOf(lf, 7));
        assertEquals(2, stats.snapshotEntries.sum());
    }
}
