package io.l4mesh.chaos.scenario;

import io.l4mesh.chaos.check.Checks;
import io.l4mesh.chaos.cluster.Baseline;
import io.l4mesh.chaos.cluster.Cluster;
import io.l4mesh.chaos.cluster.LabCluster;
import io.l4mesh.chaos.cluster.Target;
import io.l4mesh.chaos.traffic.Traffic;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The mesh's own machinery under faults: a pool change while a node dies or hangs (the flow-sync proof), gossip
 * and flow-sync messages lost on the way.
 */
final class MeshScenarios {
    private MeshScenarios() {
    }

    /** The first {@code n} backends that are not in the baseline pool. */
    static List<Integer> spareBackends(Cluster c, int n) {
        return c.backends().stream().filter(j -> !c.baselinePool().contains(j)).limit(n).toList();
    }

    /**
     * Two backends join the pool (Maglev moves part of the flows' slots), a second later one node dies or hangs
     * and ECMP moves its flows, and part of the others', to other nodes. With flow sync every connection keeps its
     * backend. Returns the measured withdrawal time.
     */
    static long poolChangeThenNodeFault(Run r, String signal, int victim) throws Exception {
        Cluster c = r.cluster();
        List<Integer> added = spareBackends(c, 2);
        int via = c.baselineNodes().stream().filter(n -> n != victim).findFirst().orElseThrow();
        for (int j : added) {
            r.addBackend(via, j);
        }
        r.awaitEligible(c.baselineNodes(), c.baselinePool().size() + added.size());
        r.event("detected", "every node routes " + (c.baselinePool().size() + added.size()) + " backends");
        r.hold(1000);
        long t0 = r.signal(victim, signal, signal.equals("KILL") ? "kill -9" : "SIGSTOP");
        long withdrawal = r.awaitServing(victim, false) - t0;
        r.figure("fault to withdrawal (ms)", withdrawal);
        return withdrawal;
    }

    static final String SYNC_LOST = "l4mesh_flowsync_dropped_total\\{[^}]*reason=\"fault\"[^}]*}";
    static final String SYNC_RESENT = "l4mesh_flowsync_retransmits_total\\{[^}]*}";

    /** The proof of flow sync: a pool change, then a node dies or hangs; and the same without sync as a control. */
    static final class PoolChangeNodeFault extends Scenario {
        private final String signal;
        private final boolean lossy;

        PoolChangeNodeFault(String name, String summary, String signal, boolean lossy) {
            super(name, summary, Set.of(Target.LAB));
            this.signal = signal;
            this.lossy = lossy;
        }

        @Override
        public String unsupported(Cluster c) {
            if (!c.flowSync()) {
                return "the lab runs without flow sync";
            }
            return lossy && c instanceof LabCluster l && !l.faultInjection()
                ? "the lab's fault seams are off (l4mesh lab up --fault-injection)" : null;
        }

        /** Whether the runner also runs {@link #control} on a lab without flow sync. */
        boolean hasControl() {
            return !lossy && signal.equals("KILL");
        }

        @Override
        public void run(Run r) throws Exception {
            Cluster c = r.cluster();
            int victim = r.pick(c.baselineNodes());
            List<Integer> others = new ArrayList<>(c.baselineNodes());
            others.remove(Integer.valueOf(victim));
            if (lossy) {
                for (int n : c.baselineNodes()) {
                    r.fault(n, "sync", "{\"loss\": 0.2}");
                }
                r.event("fault", "every node loses 20% of its flow-sync datagrams (first sending)");
            }
            // counted on the survivors: the victim restarts, and a new process counts from zero
            double lostBefore = r.metric(others, SYNC_LOST);
            double resentBefore = r.metric(others, SYNC_RESENT);
            Traffic traffic = r.traffic(Traffic.Spec.standard());
            r.hold(2000);
            double adoptedBefore = NodeScenarios.adopted(r, others);
            long withdrawal = poolChangeThenNodeFault(r, signal, victim);
            r.hold(5000);
            r.check(lookups(r, traffic, others.get(0)));
            double adopted = NodeScenarios.adopted(r, others) - adoptedBefore;
            r.figure("flows adopted by the survivors", (long) adopted);
            r.check(Checks.atLeast("the survivors took over flows they learnt from their peers", adopted, "flows", 1,
                "ECMP moved them; flow sync had them"));
            if (signal.equals("STOP")) {
                r.cont(victim);
            } else {
                r.startAndAwaitServing(victim);     // a new process: its counters start at zero
                double pulled = r.metric(List.of(victim),
                    "l4mesh_flowsync_snapshots_total\\{[^}]*result=\"pulled\"[^}]*}");
                r.check(Checks.atLeast("the restarted node pulled its peers' flows before serving", pulled,
                    "snapshots", others.size(), "one from each live peer"));
            }
            r.hold(2000);
            if (lossy) {
                double lost = r.metric(others, SYNC_LOST) - lostBefore;
                double resent = r.metric(others, SYNC_RESENT) - resentBefore;
                r.check(Checks.atLeast("flow-sync datagrams lost on purpose", lost, "datagrams", 1, "the seam worked"));
                r.check(Checks.atLeast("retransmissions that recovered them", resent, "datagrams", 1, "NAKs"));
            }
            r.finish(Run.Expect.allHold(NodeScenarios.stallBound(withdrawal), NodeScenarios.STALL_WHY));
        }

        /**
         * The same fault on a lab without flow sync: some connections must break (the backends never saw them), and
         * the survivors count the moved connections as non-SYN misses. Shows the proof can fail.
         */
        void control(Run r) throws Exception {
            Cluster c = r.cluster();
            int victim = r.pick(c.baselineNodes());
            List<Integer> others = new ArrayList<>(c.baselineNodes());
            others.remove(Integer.valueOf(victim));
            r.traffic(Traffic.Spec.standard());
            r.hold(2000);
            poolChangeThenNodeFault(r, signal, victim);
            r.hold(5000);
            r.stop();     // the standard invariants do not hold without flow sync: that is the point
            long broken = r.longResults().stream().filter(x -> x.failure() != null).count();
            r.figure("without flow sync: connections broken", broken + " of " + r.longResults().size());
            double nonSyn = r.metric(others,
                "l4mesh_flows_total\\{[^}]*event=\"non_syn_miss\"[^}]*listener=\"vip\"[^}]*}");
            r.check(Checks.atLeast("without flow sync the same fault breaks connections", broken, "connections", 1,
                "reset by a backend that never saw them"));
            r.check(Checks.atLeast("the moved connections arrive at the survivors as non-SYN misses", nonSyn, "flows",
                1, "placed by hash and counted"));
        }
    }

    /**
     * "Where does this flow go?" on a survivor, for 20 live connections: it must name each one's backend, from the
     * flow table or the replica (not a fresh hash, which after the pool change would point elsewhere for some).
     */
    static io.l4mesh.chaos.check.Invariant lookups(Run r, Traffic t, int node) throws Exception {
        Cluster c = r.cluster();
        java.util.Map<String, String> idByName = new java.util.HashMap<>();
        for (int j : c.backends()) {
            idByName.put(c.backendName(j), c.backendId(j));
        }
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        List<String> wrong = new ArrayList<>();
        int asked = 0;
        for (io.l4mesh.chaos.traffic.LongConnection conn : t.longConnections()) {
            if (asked == 20) {
                break;
            }
            if (conn.failure() != null || conn.backend() == null) {
                continue;
            }
            asked++;
            var reply = c.admin(node, "GET", "/lookup?listener=vip&src=" + io.l4mesh.chaos.lab.Lab.clientAddress(1)
                + ":" + conn.localPort(), null);
            var body = json.readTree(reply.body());
            String expected = idByName.get(conn.backend());
            String by = body.path("placedBy").asText();
            // recorded: in this node's table (it carries the flow) or in its replica (the other survivor does)
            if (!body.path("backend").asText().equals(expected) || !by.equals("flow-table") && !by.equals("replica")) {
                wrong.add("c" + conn.id() + " on " + expected + ": lookup says " + body.path("backend").asText()
                    + " by " + body.path("placedBy").asText());
            }
        }
        return new io.l4mesh.chaos.check.Invariant("lookups on a survivor name each flow's backend from its records",
            wrong.size(), "wrong of " + asked, "= 0", wrong.isEmpty() && asked > 0, String.join("; ",
            wrong.subList(0, Math.min(3, wrong.size()))));
    }

    /** A fifth of every node's gossip frames lost: the pool still converges, nobody is declared dead. */
    static final class GossipLoss extends Scenario {
        static final long CONVERGENCE_BOUND_MS = 10_000;

        GossipLoss() {
            super("gossip-loss", "every node loses 20% of the gossip frames it sends for 12 s; a pool change still "
                + "converges and no live node is declared dead", Set.of(Target.LAB, Target.LOOPBACK));
        }

        @Override
        public String unsupported(Cluster c) {
            return c instanceof LabCluster l && !l.faultInjection()
                ? "the lab's fault seams are off (l4mesh lab up --fault-injection)" : null;
        }

        @Override
        public void run(Run r) throws Exception {
            Cluster c = r.cluster();
            List<Integer> nodes = c.baselineNodes();
            String removed = "l4mesh_mesh_departures_total\\{[^}]*kind=\"removed\"[^}]*}";
            String dropped = "l4mesh_gossip_dropped_total\\{[^}]*}";
            double removedBefore = r.metric(nodes, removed);
            double droppedBefore = r.metric(nodes, dropped);
            r.sampleViews();
            r.traffic(Traffic.Spec.standard());
            long t0 = r.event("fault", "every node loses 20% of the gossip frames it sends");
            for (int n : nodes) {
                r.fault(n, "gossip", "{\"loss\": 0.2}");
            }
            r.hold(3000);
            int added = spareBackends(c, 1).get(0);
            long change = r.nowMs();
            r.addBackend(r.pick(nodes), added);
            Baseline.await(Duration.ofMillis(CONVERGENCE_BOUND_MS * 2), "the change on every node", () ->
                nodes.stream().allMatch(n -> {
                    Baseline.PoolView v = Baseline.pool(c, n);
                    return v != null && v.backends().containsKey(c.backendId(added));
                }) && new java.util.HashSet<>(Baseline.fingerprints(c, nodes).values()).size() == 1);
            r.hold(400);
            r.check(Checks.converged(r.views(), nodes, change, CONVERGENCE_BOUND_MS, "the pool change"));
            r.hold(Math.max(0, 12_000 - (r.nowMs() - t0)));
            r.event("healed", "gossip lossless again");
            for (int n : nodes) {
                c.admin(n, "DELETE", "/fault/gossip", null);
            }
            r.hold(1000);
            r.check(Checks.atMost("live nodes declared dead on the lossy links", r.metric(nodes, removed)
                - removedBefore, "removals", 0, "l4mesh_mesh_departures_total{kind=removed}"));
            r.check(Checks.atLeast("gossip frames the lossy links dropped", r.metric(nodes, dropped) - droppedBefore,
                "frames", 1, "l4mesh_gossip_dropped_total"));
            r.finish(Run.Expect.allHold(NetworkScenarios.STILL_PATH_STALL_MS, "no path changed"));
        }
    }
}
