package io.l4mesh.node.routing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.l4mesh.hashring.HashAlgorithm;
import io.l4mesh.hashring.MaglevTable;
import io.l4mesh.node.config.HostPort;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Each placement rule of packet mode, on routing snapshots alone (no TUN device, no packets). */
class PlacementTest {
    private static BackendRuntime backend(int i) {
        String ip = "10.0.0." + i;
        return new BackendRuntime(ip + ":80", new HostPort(ip, 80), new InetSocketAddress(ip, 80), 1, false);
    }

    private static RoutingSnapshot snapshot(List<BackendRuntime> backends) {
        List<BackendRuntime> sorted = new ArrayList<>(backends);
        sorted.sort((a, b) -> a.id().compareTo(b.id()));
        return new RoutingSnapshot(1, sorted, 1009, HashAlgorithm.MAGLEV_V1);
    }

    /** A flow hash that Maglev sends to another backend than {@code not}. */
    private static long hashNotOn(RoutingSnapshot s, BackendRuntime not) {
        for (long h = 1; ; h++) {
            int idx = s.table().lookup(h * 0x9E3779B97F4A7C15L);
            if (idx != MaglevTable.NO_BACKEND && s.backendAt(idx) != not) {
                return h * 0x9E3779B97F4A7C15L;
            }
        }
    }

    private static String where(RoutingSnapshot s, long placed) {
        int idx = Placement.index(placed);
        return idx == MaglevTable.NO_BACKEND ? "none" : s.backendAt(idx).id();
    }

    @Test
    void aRecordedFlowKeepsItsBackendWhereverItsSlotMoved() {
        BackendRuntime a = backend(1);
        RoutingSnapshot s = snapshot(List.of(a, backend(2), backend(3)));
        long h = hashNotOn(s, a);
        long placed = Placement.place(s, h, Placement.known(a.flowId()), Placement.UNKNOWN);
        assertEquals(Placement.KEPT, Placement.outcome(placed));
        assertEquals(a.id(), where(s, placed), "the record, not the hash");
    }

    @Test
    void aDrainingBackendKeepsItsFlowsButTakesNoNewOnes() {
        BackendRuntime a = backend(1);
        a.draining(true);
        RoutingSnapshot s = snapshot(List.of(a, backend(2)));
        long h = hashNotOn(s, a);
        long kept = Placement.place(s, h, Placement.known(a.flowId()), Placement.UNKNOWN);
        assertEquals(Placement.KEPT, Placement.outcome(kept));
        assertEquals(a.id(), where(s, kept));
        for (long k = 1; k < 200; k++) {
            assertNotEquals(a.id(), where(s, Placement.place(s, k * 7919, Placement.UNKNOWN, Placement.UNKNOWN)),
                "no new flow on a draining backend");
        }
    }

    @Test
    void aRemovedOrDownBackendsFlowIsPlacedAgainByMaglev() {
        BackendRuntime a = backend(1);
        BackendRuntime gone = backend(9);
        BackendRuntime down = backend(8);
        down.health(Health.DOWN, "test");
        RoutingSnapshot s = snapshot(List.of(a, backend(2), down));
        long h = 12345;
        long removed = Placement.place(s, h, Placement.known(gone.flowId()), Placement.UNKNOWN);
        assertEquals(Placement.REHASHED_REMOVED, Placement.outcome(removed));
        assertEquals(s.table().lookup(h), Placement.index(removed));
        long wasDown = Placement.place(s, h, Placement.known(down.flowId()), Placement.UNKNOWN);
        assertEquals(Placement.REHASHED_DOWN, Placement.outcome(wasDown));
        assertNotEquals(down.id(), where(s, wasDown));
    }

    @Test
    void proxySessionsKeepTheirBackendByTheSameRules() {
        BackendRuntime up = backend(1);
        BackendRuntime draining = backend(2);
        draining.draining(true);
        BackendRuntime down = backend(3);
        down.health(Health.DOWN, "test");
        BackendRuntime gone = backend(4);
        RoutingSnapshot s = snapshot(List.of(up, draining, down));
        assertEquals(up.id(), s.backendAt(Placement.kept(s, up.flowId())).id());
        assertEquals(draining.id(), s.backendAt(Placement.kept(s, draining.flowId())).id());
        assertEquals(-1, Placement.kept(s, down.flowId()), "down: decide again");
        assertEquals(-1, Placement.kept(s, gone.flowId()), "removed: decide again");
    }

    @Test
    void aFlowOnlyThePeersKnowIsAdoptedUnderTheSameRules() {
        BackendRuntime a = backend(1);
        BackendRuntime down = backend(2);
        down.health(Health.DOWN, "test");
        RoutingSnapshot s = snapshot(List.of(a, down, backend(3)));
        long h = hashNotOn(s, a);
        long adopted = Placement.place(s, h, Placement.UNKNOWN, Placement.known(a.flowId()));
        assertEquals(Placement.ADOPTED, Placement.outcome(adopted));
        assertEquals(a.id(), where(s, adopted));
        long rehashed = Placement.place(s, h, Placement.UNKNOWN, Placement.known(down.flowId()));
        assertEquals(Placement.REHASHED_DOWN, Placement.outcome(rehashed));
        // this node's own record wins over the replica's
        long mine = Placement.place(s, h, Placement.known(a.flowId()), Placement.known(backend(3).flowId()));
        assertEquals(Placement.KEPT, Placement.outcome(mine));
        assertEquals(a.id(), where(s, mine));
    }

    @Test
    void aFlowKnownNowhereGoesWhereMaglevSaysOrNowhereWhenNoBackendTakesFlows() {
        RoutingSnapshot s = snapshot(List.of(backend(1), backend(2)));
        long placed = Placement.place(s, 777, Placement.UNKNOWN, Placement.UNKNOWN);
        assertEquals(Placement.NEW, Placement.outcome(placed));
        assertEquals(s.table().lookup(777), Placement.index(placed));
        BackendRuntime only = backend(1);
        only.health(Health.DOWN, "test");
        RoutingSnapshot none = snapshot(List.of(only));
        assertEquals(MaglevTable.NO_BACKEND, Placement.index(Placement.place(none, 777, Placement.UNKNOWN,
            Placement.UNKNOWN)));
        assertEquals(MaglevTable.NO_BACKEND, Placement.index(Placement.place(none, 777,
            Placement.known(only.flowId()), Placement.UNKNOWN)), "rehashed, and nothing takes it");
    }

    /**
     * A client that reuses the ports of an ended connection opens a new one: the ended record does not speak for it
     * (a SYN is placed afresh), and a newer record a peer made for the new connection wins over it. A live record
     * always speaks; an ended one still carries its own connection's last packets.
     */
    @Test
    void anEndedConnectionsRecordDoesNotSpeakForANewConnectionOnTheSamePorts() {
        int none = Placement.SPEAKER_NONE;
        int local = Placement.SPEAKER_LOCAL;
        int replica = Placement.SPEAKER_REPLICA;
        // live record: it speaks, whatever the replica says and whatever the packet
        assertEquals(local, Placement.speaker(true, false, 10, true, false, 99, false));
        assertEquals(local, Placement.speaker(true, false, 10, false, false, 0, true), "a retransmitted SYN");
        // ended record, the connection's own last segments: it speaks
        assertEquals(local, Placement.speaker(true, true, 10, false, false, 0, false));
        assertEquals(local, Placement.speaker(true, true, 10, true, true, 5, false), "the replica is older");
        // ended record, and a peer placed a new connection on these ports since: the peer's record
        assertEquals(replica, Placement.speaker(true, true, 10, true, false, 20, false));
        // ended record and a SYN: a new connection (placed by the algorithm unless a peer already placed it)
        assertEquals(none, Placement.speaker(true, true, 10, false, false, 0, true));
        assertEquals(replica, Placement.speaker(true, true, 10, true, false, 20, true));
        assertEquals(none, Placement.speaker(true, true, 10, true, true, 20, true), "both records ended");
        // nothing here: the replica, unless it is an ended connection's and this is a SYN
        assertEquals(replica, Placement.speaker(false, false, 0, true, false, 20, false));
        assertEquals(replica, Placement.speaker(false, false, 0, true, true, 20, false));
        assertEquals(none, Placement.speaker(false, false, 0, true, true, 20, true));
        assertEquals(none, Placement.speaker(false, false, 0, false, false, 0, false));
    }
}
