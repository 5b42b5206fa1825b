package io.l4mesh.chaos.scenario;

import io.l4mesh.chaos.check.Checks;
import io.l4mesh.chaos.cluster.Baseline;
import io.l4mesh.chaos.cluster.Cluster;
import io.l4mesh.chaos.cluster.Target;
import io.l4mesh.chaos.traffic.Traffic;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Balancer nodes that die, hang, drain, restart and join, in the packet-mode lab: ECMP moves the flows of a node
 * that stops serving to the others, and flow sync must keep every established connection on its backend.
 */
final class NodeScenarios {
    private NodeScenarios() {
    }

    /**
     * The stall bound after a node stops serving: TCP resends a lost segment after its retransmission timeout and
     * doubles it each time, so the first resend after the withdrawal comes at most about twice the withdrawal time
     * after the loss; one second more for the path and the pace.
     */
    static long stallBound(long withdrawalMs) {
        return 2 * withdrawalMs + 1000;
    }

    /** Why a scale-out scenario cannot run on {@code c}, or null. */
    static String needsSpare(Cluster c) {
        return c.spareNode() == 0 ? "the lab has no spare node (l4mesh lab up --spare-nodes 1)" : null;
    }

    static final String STALL_WHY = "2 x withdrawal + 1 s: TCP's doubling retransmission after the path moved";

    /** The survivors' adopted flows so far (taken over from the replica after ECMP moved them). */
    static double adopted(Run r, List<Integer> nodes) {
        return r.metric(nodes, "l4mesh_flows_total\\{[^}]*event=\"adopted\"[^}]*listener=\"vip\"[^}]*}");
    }

    /** Kills (kill -9), hangs (SIGSTOP) or drains (SIGTERM) one node, then brings it back. */
    static final class NodeDown extends Scenario {
        private final String signal;
        private final String verb;

        NodeDown(String name, String summary, String signal, String verb) {
            super(name, summary, Set.of(Target.LAB));
            this.signal = signal;
            this.verb = verb;
        }

        @Override
        public void run(Run r) throws Exception {
            Cluster c = r.cluster();
            int victim = r.pick(c.baselineNodes());
            List<Integer> others = new ArrayList<>(c.baselineNodes());
            others.remove(Integer.valueOf(victim));
            r.traffic(Traffic.Spec.standard());
            r.hold(2000);
            double adoptedBefore = adopted(r, others);
            long t0 = r.signal(victim, signal, verb);
            long gone = r.awaitServing(victim, false);
            long withdrawal = gone - t0;
            r.figure("fault to withdrawal (ms)", withdrawal);
            r.hold(4000);
            if (signal.equals("STOP")) {
                r.cont(victim);
            } else {
                if (signal.equals("TERM")) {
                    Baseline.await(Duration.ofSeconds(15), "node-" + victim + " exits after draining",
                        () -> !c.running(victim));
                    r.event("step", "node-" + victim + " drained and exited");
                }
                r.startAndAwaitServing(victim);
            }
            r.hold(2000);
            r.figure("flows adopted by the other nodes", (long) (adopted(r, others) - adoptedBefore));
            r.finish(Run.Expect.allHold(stallBound(withdrawal), STALL_WHY));
        }
    }

    /** Restarts every node in turn (SIGTERM, start, wait until it serves again). */
    static final class RollingRestart extends Scenario {
        RollingRestart() {
            super("rolling-restart", "SIGTERM and restart each node in turn, waiting until it serves again",
                Set.of(Target.LAB));
        }

        @Override
        public void run(Run r) throws Exception {
            Cluster c = r.cluster();
            r.traffic(Traffic.Spec.standard());
            r.hold(2000);
            long worst = 0;
            for (int n : c.baselineNodes()) {
                long t0 = r.signal(n, "TERM", "SIGTERM (rolling restart)");
                worst = Math.max(worst, r.awaitServing(n, false) - t0);
                Baseline.await(Duration.ofSeconds(15), "node-" + n + " exits", () -> !c.running(n));
                r.startAndAwaitServing(n);
                r.hold(1500);
            }
            r.figure("slowest withdrawal (ms)", worst);
            r.finish(Run.Expect.allHold(stallBound(worst), STALL_WHY));
        }
    }

    /** Adds the spare node: it pulls every flow, then serves, and ECMP gives it part of the others' flows. */
    static final class NodeJoin extends Scenario {
        NodeJoin() {
            super("node-join", "scale-out: a fourth node joins; ECMP moves part of every node's flows to it",
                Set.of(Target.LAB));
        }

        @Override
        public String unsupported(Cluster c) {
            return needsSpare(c);
        }

        @Override
        public void run(Run r) throws Exception {
            int spare = r.cluster().spareNode();
            r.traffic(Traffic.Spec.standard());
            r.hold(2000);
            r.startAndAwaitServing(spare);
            r.hold(4000);
            double adopted = adopted(r, List.of(spare));
            r.figure("flows the new node adopted", (long) adopted);
            r.check(Checks.atLeast("the new node took over flows it learnt from its peers", adopted, "flows", 1,
                "ECMP moved part of the flows to it"));
            r.finish(Run.Expect.allHold(1500, "no node stopped serving; a flow that moves finds its record"));
        }
    }

    /** The spare node joins while its first seed is down. */
    static final class SeedDownJoin extends Scenario {
        SeedDownJoin() {
            super("seed-down-join", "a node joins while the first seed in its list is down (kill -9)",
                Set.of(Target.LAB));
        }

        @Override
        public String unsupported(Cluster c) {
            return needsSpare(c);
        }

        @Override
        public void run(Run r) throws Exception {
            Cluster c = r.cluster();
            int spare = c.spareNode();
            int seed = c.baselineNodes().get(0);      // the first seed in every other node's list
            r.traffic(Traffic.Spec.standard());
            r.hold(2000);
            long t0 = r.signal(seed, "KILL", "kill -9 (the joining node's first seed)");
            long withdrawal = r.awaitServing(seed, false) - t0;
            r.hold(1000);
            long j0 = r.event("step", "start node-" + spare + " (seeds: node-1 down, node-2, node-3 up)");
            c.start(spare);
            int members = c.baselineNodes().size();   // the survivors and the new node
            Baseline.await(Duration.ofSeconds(30), "node-" + spare + " in a mesh of " + members,
                () -> Baseline.members(c, spare) == members);
            long joined = r.event("detected", "node-" + spare + " joined through its other seeds");
            r.awaitServing(spare, true);
            r.check(Checks.atMost("time for a node to join with its first seed down", joined - j0, "ms", 15000,
                "start to a full member view"));
            r.hold(2000);
            r.startAndAwaitServing(seed);
            r.hold(2000);
            r.finish(Run.Expect.allHold(stallBound(withdrawal), STALL_WHY));
        }
    }

    static Scenario nodeKill() {
        return new NodeDown("node-kill", "kill -9 one node; ECMP moves its flows; it restarts and rejoins", "KILL",
            "kill -9");
    }

    static Scenario nodeHang() {
        return new NodeDown("node-hang", "SIGSTOP one node (hung, its TUN still open) for 4 s, then SIGCONT", "STOP",
            "SIGSTOP");
    }

    static Scenario nodeDrain() {
        return new NodeDown("node-drain", "SIGTERM one node (graceful drain and leave), then restart it", "TERM",
            "SIGTERM");
    }
}
