package io.l4mesh.chaos.scenario;

import io.l4mesh.chaos.check.Checks;
import io.l4mesh.chaos.check.Invariant;
import io.l4mesh.chaos.cluster.Baseline;
import io.l4mesh.chaos.cluster.Cluster;
import io.l4mesh.chaos.fault.InPathProxy;
import io.l4mesh.chaos.cluster.Target;
import io.l4mesh.chaos.traffic.LongConnection;
import io.l4mesh.chaos.traffic.Traffic;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Backends that die, flap, slow down, freeze or leave the pool. Their own connections may break (a dead backend's
 * connections are gone with it); the checks are that every node stops sending it new flows within the detection
 * window, that new connections succeed again, and that no other connection notices.
 */
final class BackendScenarios {
    /** No path changes for connections on the other backends: a stall longer than this is the fault's doing. */
    static final long OTHERS_STALL_MS = 1000;

    private BackendScenarios() {
    }

    /** Waits until every node marks backend {@code j} down (or up), and returns when. */
    static long awaitVerdict(Run r, int j, String health) throws Exception {
        Cluster c = r.cluster();
        String id = c.backendId(j);
        Baseline.await(Duration.ofSeconds(60), "every node marks " + id + " " + health, () -> c.baselineNodes()
            .stream().allMatch(n -> {
                Baseline.PoolView v = Baseline.pool(c, n);
                Baseline.BackendView b = v == null ? null : v.backends().get(id);
                return b != null && b.health().equals(health);
            }));
        return r.nowMs();
    }

    /**
     * Waits until the cluster settles after an in-path proxy went in front of a backend: every node routes every
     * baseline backend, and still does a detection window later (no probe saw the switch).
     */
    static void settled(Run r) throws Exception {
        Cluster c = r.cluster();
        Baseline.await(Duration.ofSeconds(60), "every node routes the proxied backend",
            () -> Baseline.atBaseline(c, c.baselineNodes()));
        r.hold(c.detectionWindowMs() + 500);
        Baseline.await(Duration.ofSeconds(60), "every node still routes the proxied backend",
            () -> Baseline.atBaseline(c, c.baselineNodes()));
    }

    /** Pool rebuilds per node so far. */
    static Map<Integer, Long> rebuilds(Run r) {
        Map<Integer, Long> m = new HashMap<>();
        for (int n : r.cluster().baselineNodes()) {
            m.put(n, (long) r.metric(List.of(n), "l4mesh_pool_rebuilds_total\\{[^}]*pool=\"" + r.cluster().pool()
                + "\"[^}]*}"));
        }
        return m;
    }

    /** kill -9 of one backend's service: detected, avoided, restarted. */
    static final class BackendKill extends Scenario {
        BackendKill() {
            super("backend-kill", "kill -9 one backend's service; every node marks it down and sends it no new flow;"
                + " restart it", Set.of(Target.LAB, Target.LOOPBACK));
        }

        @Override
        public void run(Run r) throws Exception {
            Cluster c = r.cluster();
            int j = r.pick(c.baselinePool());
            r.watchBackend(j);
            r.traffic(Traffic.Spec.standard());
            r.hold(2000);
            long t0 = r.event("fault", "kill -9 " + c.backendName(j) + " (" + c.backendId(j) + ")");
            c.killBackend(j);
            long down = awaitVerdict(r, j, "down");
            r.event("detected", "every node marks " + c.backendName(j) + " down");
            r.figure("kill to down on every node (ms)", down - t0);
            long window = c.detectionWindowMs();
            r.hold(window + 3000);
            long healed = r.event("healed", "start " + c.backendName(j) + " again");
            c.startBackend(j);
            awaitVerdict(r, j, "up");
            r.event("back", "every node marks " + c.backendName(j) + " up");
            r.hold(1000);
            r.finish(Run.Expect.allHold(OTHERS_STALL_MS, "its connections are not on the dead backend")
                .dead(Set.of(c.backendName(j))).newConnections(t0 + window, healed, "after the detection window"));
            r.check(Checks.deadBackendAvoided(c.backendName(j), t0, window, r.newFlowsReaching(j, t0, healed)));
        }
    }

    /** The backend's service goes away and comes back every 2 s for 30 s. */
    static final class BackendFlap extends Scenario {
        static final int TOGGLES = 15;
        static final long PERIOD_MS = 2000;
        /** Without damping each of the 15 down-or-up flaps would rebuild every table once; with it, about 5 do. */
        static final long MAX_REBUILDS = 8;

        BackendFlap() {
            super("backend-flap", "one backend's service down and up every 2 s for 30 s; flap damping keeps the "
                + "tables still", Set.of(Target.LAB, Target.LOOPBACK));
        }

        @Override
        public void run(Run r) throws Exception {
            Cluster c = r.cluster();
            int j = r.pick(c.baselinePool());
            r.event("step", "put an in-path proxy in front of " + c.backendName(j));
            try (InPathProxy proxy = c.interpose(j)) {
                r.figure("in-path proxy", proxy.driver());
                settled(r);
                r.traffic(Traffic.Spec.standard());
                r.hold(2000);
                Map<Integer, Long> before = rebuilds(r);
                long t0 = r.nowMs();
                for (int i = 0; i < TOGGLES; i++) {
                    if (i % 2 == 0) {
                        r.event("fault", c.backendName(j) + " down (flap " + (i / 2 + 1) + ")");
                        proxy.down();
                    } else {
                        r.event("healed", c.backendName(j) + " up");
                        proxy.up();
                    }
                    r.hold(PERIOD_MS);
                }
                r.event("healed", c.backendName(j) + " up for good");
                proxy.up();
                long end = r.nowMs();
                Map<Integer, Long> after = rebuilds(r);
                Map<Integer, Long> delta = new HashMap<>();
                after.forEach((n, v) -> delta.put(n, v - before.getOrDefault(n, 0L)));
                r.figure("flapping (ms)", end - t0);
                r.check(Checks.flapDamped(delta, TOGGLES, MAX_REBUILDS));
                r.hold(c.detectionWindowMs() + 1000);
                r.finish(Run.Expect.allHold(OTHERS_STALL_MS, "its connections are not on the flapping backend")
                    .dead(Set.of(c.backendName(j))).newConnections(end + c.detectionWindowMs(), Long.MAX_VALUE,
                        "after the flapping (the damped backend stays out)"));
            }
        }
    }

    /** The backend gets slow, then hangs (connections open, nothing answers), then recovers. */
    static final class BackendFreeze extends Scenario {
        static final long SLOW_MS = 100;

        BackendFreeze() {
            super("backend-freeze", "one backend slow (+100 ms each way) for 5 s, then frozen (accepts, never "
                + "answers) for 5 s; the health check's request finds it out", Set.of(Target.LAB, Target.LOOPBACK));
        }

        @Override
        public void run(Run r) throws Exception {
            Cluster c = r.cluster();
            int j = r.pick(c.baselinePool());
            String name = c.backendName(j);
            r.event("step", "put an in-path proxy in front of " + name);
            try (InPathProxy proxy = c.interpose(j)) {
                r.figure("in-path proxy", proxy.driver());
                settled(r);
                r.watchBackend(j);
                r.traffic(Traffic.Spec.standard());
                r.hold(2000);
                String transitions = "l4mesh_health_transitions_total\\{[^}]*backend=\""
                    + java.util.regex.Pattern.quote(c.backendId(j)) + "\"[^}]*state=\"down\"[^}]*}";
                double downsBefore = r.metric(c.baselineNodes(), transitions);
                r.event("fault", name + " slow: +" + SLOW_MS + " ms each way");
                proxy.slow(SLOW_MS);
                r.hold(5000);
                double downs = r.metric(c.baselineNodes(), transitions) - downsBefore;
                boolean upEverywhere = c.baselineNodes().stream().allMatch(n -> {
                    Baseline.PoolView v = Baseline.pool(c, n);
                    return v != null && v.backends().get(c.backendId(j)).eligible();
                });
                r.check(new Invariant("a slow backend stays in the pool", downs, "down transitions while slow",
                    "= 0", upEverywhere && downs == 0, upEverywhere ? "eligible on every node"
                    : "not eligible everywhere"));
                long t0 = r.event("fault", name + " frozen: connections stay open, nothing moves");
                proxy.freeze();
                long down = awaitVerdict(r, j, "down");
                r.event("detected", "every node marks " + name + " down");
                r.figure("freeze to down on every node (ms)", down - t0);
                long window = c.detectionWindowMs();
                r.hold(window + 2000);
                long healed = r.event("healed", name + " unfrozen, fast again");
                proxy.unfreeze();
                proxy.slow(0);
                r.hold(500);
                // packet mode moves a down backend's flows (the frozen backend's connections are reset by the
                // backend they move to); proxy mode keeps them, and they resume after the freeze
                Run.Expect e = Run.Expect.allHold(OTHERS_STALL_MS, "their backend was neither slow nor frozen");
                e = c.target() == Target.LAB ? e.dead(Set.of(name)) : e.stalled(Set.of(name));
                r.finish(e.newConnections(t0 + window, healed, "after the detection window"));
                r.check(Checks.deadBackendAvoided(name, t0, window, r.newFlowsReaching(j, t0, healed)));
                long frozen = r.longResults().stream().filter(x -> name.equals(x.backend())).count();
                long stalledOnIt = r.longResults().stream().filter(x -> name.equals(x.backend())
                    && x.maxGapMs() > LongConnection.STALL_MS).count();
                long resetOnIt = r.longResults().stream().filter(x -> name.equals(x.backend()) && x.failure() != null)
                    .count();
                r.figure("connections on the frozen backend that stalled", stalledOnIt + " of " + frozen);
                r.figure("connections on the frozen backend that broke (packet mode moves a down backend's flows)",
                    resetOnIt + " of " + frozen);
            }
        }
    }

    /** A backend leaves the pool: exactly its connections break, each counted as rehashed; the others go on. */
    static final class BackendRemove extends Scenario {
        BackendRemove() {
            super("backend-remove", "remove one backend from the pool: in packet mode exactly its connections break "
                + "(counted as rehashed); every other goes on", Set.of(Target.LAB));
        }

        @Override
        public void run(Run r) throws Exception {
            Cluster c = r.cluster();
            int j = r.pick(c.baselinePool());
            String name = c.backendName(j);
            r.traffic(Traffic.Spec.standard());
            r.hold(2000);
            double before = r.metric(c.baselineNodes(), "l4mesh_flows_total\\{[^}]*event=\"rehashed_backend_removed\""
                + "[^}]*listener=\"vip\"[^}]*}");
            long removedAt = r.nowMs();
            r.removeBackend(r.anyServingNode(), j);
            r.awaitEligible(c.baselineNodes(), c.baselinePool().size() - 1);
            long everyNodeKnew = r.nowMs();
            r.hold(3000);
            // a short connection open on the removed backend as its node learns of the removal breaks like the
            // long ones: until every node knows, one may still place a new connection there
            r.finish(Run.Expect.allHold(OTHERS_STALL_MS, "their backend stayed").dead(Set.of(name))
                .sparedWhileOpen(removedAt, everyNodeKnew, "the removal spread"));
            List<LongConnection.Result> on = r.longResults().stream().filter(x -> name.equals(x.backend())).toList();
            long reset = on.stream().filter(x -> x.failure() != null).count();
            // a rehashed segment normally draws a reset from the new backend; one that does not (its answer lost, or
            // the segment taken for an old one) leaves the connection hung with no echo: ended all the same
            long hung = on.stream().filter(x -> x.failure() == null && x.endedSince(removedAt)).count();
            long broke = reset + hung;
            r.check(new Invariant("every connection on the removed backend ends (a new backend resets it)", broke,
                "of " + on.size(), "= " + on.size() + " (and some were on it)", broke == on.size() && !on.isEmpty(),
                reset + " reset, " + hung + " hung with no echo since the removal"));
            double rehashed = r.metric(c.baselineNodes(), "l4mesh_flows_total\\{[^}]*event=\"rehashed_backend_removed\""
                + "[^}]*listener=\"vip\"[^}]*}") - before;
            r.check(Checks.atLeast("rehashes counted for them", rehashed, "flows", broke, "rehashed_backend_removed"));
        }
    }
}
