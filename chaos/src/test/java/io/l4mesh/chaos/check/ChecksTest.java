package io.l4mesh.chaos.check;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.l4mesh.chaos.traffic.LongConnection;
import io.l4mesh.chaos.traffic.ShortConnections;
import io.l4mesh.chaos.traffic.UdpFlows;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Every invariant checker holds on good records and fails on the record that breaks it. */
class ChecksTest {
    static LongConnection.Result ok(int id, String backend, long maxGapMs) {
        return new LongConnection.Result(id, 40000 + id, backend, null, null, -1, 100, maxGapMs, List.of(), 9000);
    }

    static LongConnection.Result failed(int id, String backend, LongConnection.Failure f) {
        return new LongConnection.Result(id, 40000 + id, backend, f, "it broke", 1234, 10, 50, List.of(), 1000);
    }

    @Test
    void aResetConnectionBreaksUnbrokenUnlessItsBackendDied() {
        List<LongConnection.Result> good = List.of(ok(1, "backend-1", 20), ok(2, "backend-2", 30));
        assertTrue(Checks.unbroken(good, Set.of()).held());
        List<LongConnection.Result> reset = List.of(ok(1, "backend-1", 20),
            failed(2, "backend-2", LongConnection.Failure.RESET));
        Invariant i = Checks.unbroken(reset, Set.of());
        assertFalse(i.held());
        assertEquals(1, i.value());
        assertTrue(i.detail().contains("c2 (backend-2, reset"), i.detail());
        assertTrue(Checks.unbroken(reset, Set.of("backend-2")).held(), "a dead backend's connections may break");
        assertFalse(Checks.unbroken(List.of(failed(3, "backend-1", LongConnection.Failure.WRONG_ECHO)), Set.of())
            .held(), "a wrong echo is broken too");
        assertFalse(Checks.unbroken(List.of(failed(4, "backend-1", LongConnection.Failure.MOVED)), Set.of()).held(),
            "so is a move to another backend");
    }

    @Test
    void aStallLongerThanTheBoundFails() {
        List<LongConnection.Result> conns = List.of(ok(1, "backend-1", 200), ok(2, "backend-2", 2500));
        assertFalse(Checks.longestStall(conns, Set.of(), 2000, "test").held());
        assertEquals(2500, Checks.longestStall(conns, Set.of(), 2000, "test").value());
        assertTrue(Checks.longestStall(conns, Set.of("backend-2"), 2000, "test").held());
        assertTrue(Checks.longestStall(conns, Set.of(), 3000, "test").held());
    }

    @Test
    void aLateFlowToADeadBackendFails() {
        assertTrue(Checks.deadBackendAvoided("backend-1", 10_000, 1500, List.of(10_400L, 11_200L)).held());
        Invariant late = Checks.deadBackendAvoided("backend-1", 10_000, 1500, List.of(10_400L, 12_100L));
        assertFalse(late.held(), "a new flow 2.1 s after the death, window 1.5 s");
        assertEquals(2100, late.value());
        assertTrue(Checks.deadBackendAvoided("backend-1", 10_000, 1500, List.of(9_000L)).held(),
            "evidence before the death does not count");
        assertTrue(Checks.deadBackendAvoided("backend-1", 10_000, 1500, List.of()).held());
    }

    @Test
    void aFailedNewConnectionInTheWindowFails() {
        List<ShortConnections.Attempt> a = List.of(new ShortConnections.Attempt(0, 100, 102, 1, "backend-1", null),
            new ShortConnections.Attempt(1, 900, 901, -1, null, "refused"),
            new ShortConnections.Attempt(2, 2000, 2003, 1, "backend-2", null));
        assertFalse(Checks.newConnectionsSucceed(a, 0, 5000, "throughout").held());
        assertTrue(Checks.newConnectionsSucceed(a, 1000, 5000, "later").held());
        assertFalse(Checks.newConnectionsSucceed(a, 6000, 7000, "never tried").held(),
            "a window with no attempt proves nothing");
    }

    @Test
    void onlyAConnectionOpenDuringTheSparedSpanThatBrokeAfterConnectingIsSpared() {
        ShortConnections.Attempt ok = new ShortConnections.Attempt(0, 100, 102, 1, "backend-1", null);
        ShortConnections.Attempt straddles = new ShortConnections.Attempt(1, 995, 1004, 2, null, "reset");
        ShortConnections.Attempt neverConnected = new ShortConnections.Attempt(2, 1100, 1101, -1, null, "refused");
        ShortConnections.Attempt after = new ShortConnections.Attempt(3, 1600, 1602, 1, null, "reset");
        ShortConnections.Attempt before = new ShortConnections.Attempt(4, 900, 903, 1, null, "reset");
        Invariant spared = Checks.newConnectionsSucceed(List.of(ok, straddles), 0, Long.MAX_VALUE, "throughout",
            1000, 1500, "the removal spread");
        assertTrue(spared.held(), spared.detail());
        assertTrue(spared.detail().contains("1 open while the removal spread"), spared.detail());
        for (ShortConnections.Attempt bad : List.of(neverConnected, after, before)) {
            assertFalse(Checks.newConnectionsSucceed(List.of(ok, bad), 0, Long.MAX_VALUE, "throughout", 1000, 1500,
                "the removal spread").held(), "s" + bad.id() + " is not spared");
        }
    }

    @Test
    void aDivergedFingerprintFailsConvergence() {
        Map<Integer, Integer> all3 = Map.of(1, 3, 2, 3, 3, 3);
        List<Checks.ViewSample> converging = List.of(
            new Checks.ViewSample(900, Map.of(1, "a", 2, "a", 3, "a"), all3),       // before the heal: ignored
            new Checks.ViewSample(1100, Map.of(1, "a", 2, "a", 3, "b"), all3),
            new Checks.ViewSample(1500, Map.of(1, "a", 2, "a", 3, "a"), all3));
        Invariant ok = Checks.converged(converging, List.of(1, 2, 3), 1000, 2000);
        assertTrue(ok.held());
        assertEquals(500, ok.value());
        List<Checks.ViewSample> diverged = List.of(
            new Checks.ViewSample(1100, Map.of(1, "a", 2, "a", 3, "b"), all3),
            new Checks.ViewSample(5000, Map.of(1, "a", 2, "a", 3, "b"), all3));
        Invariant bad = Checks.converged(diverged, List.of(1, 2, 3), 1000, 2000);
        assertFalse(bad.held());
        assertEquals("never", bad.measured());
        List<Checks.ViewSample> lateMember = List.of(
            new Checks.ViewSample(1100, Map.of(1, "a", 2, "a", 3, "a"), Map.of(1, 3, 2, 3, 3, 1)),
            new Checks.ViewSample(4000, Map.of(1, "a", 2, "a", 3, "a"), all3));
        assertFalse(Checks.converged(lateMember, List.of(1, 2, 3), 1000, 2000).held(),
            "one fingerprint is not enough while a node still sees itself alone");
    }

    @Test
    void crashesMemoryReadinessAndFlapDamping() {
        assertTrue(Checks.noCrash(List.of()).held());
        assertFalse(Checks.noCrash(List.of("node-2 exited")).held());
        assertTrue(Checks.memoryBound(Map.of(1, 300L << 20, 2, 200L << 20), 512L << 20).held());
        assertFalse(Checks.memoryBound(Map.of(1, 600L << 20), 512L << 20).held());
        assertTrue(Checks.readyBeforeServing(List.of(new Checks.Appearance(1, 10, 200, 200, 200))).held());
        assertFalse(Checks.readyBeforeServing(List.of(new Checks.Appearance(1, 10, 503, 200, 200))).held(),
            "announced while /healthz said no");
        assertFalse(Checks.readyBeforeServing(List.of(new Checks.Appearance(1, 10, 200, 20, 200))).held(),
            "announced before it knew the live flows");
        assertTrue(Checks.flapDamped(Map.of(1, 3L, 2, 4L), 15, 8).held());
        assertFalse(Checks.flapDamped(Map.of(1, 3L, 2, 15L), 15, 8).held(), "a rebuild for every flap");
    }

    @Test
    void aUdpFlowThatChangedBackendFailsUnlessItsBackendDied() {
        List<UdpFlows.Result> ok = List.of(new UdpFlows.Result(0, 10, 10, 0, List.of(), "backend-1", 40000));
        assertTrue(Checks.udpFlowsKeepBackend(ok, Set.of()).held());
        List<UdpFlows.Result> moved = List.of(new UdpFlows.Result(1, 10, 9, 1,
            List.of("500 ms: backend-1 -> backend-2"), "backend-2", 40001));
        assertFalse(Checks.udpFlowsKeepBackend(moved, Set.of()).held());
        assertTrue(Checks.udpFlowsKeepBackend(moved, Set.of("backend-1")).held());
    }
}
