package io.l4mesh.chaos.scenario;

import io.l4mesh.chaos.check.Checks;
import io.l4mesh.chaos.cluster.Baseline;
import io.l4mesh.chaos.cluster.Cluster;
import io.l4mesh.chaos.cluster.Target;
import io.l4mesh.chaos.traffic.Traffic;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The network between the nodes, and the router. In the lab partitions are routing rules at the router
 * ({@code ip rule ... blackhole} between node subnets: gossip and flow sync are cut, the BGP sessions and client
 * traffic are not); on loopback they are the nodes' gossip fault seam.
 */
final class NetworkScenarios {
    /** How long after a heal every node must report one fingerprint and every member. */
    static final long CONVERGENCE_BOUND_MS = 10_000;
    /** No path changes in these scenarios: a stall longer than this is the fault's doing. */
    static final long STILL_PATH_STALL_MS = 1000;

    private NetworkScenarios() {
    }

    /** Cuts {@code minority} from the other baseline nodes and waits until both sides see it. */
    static long split(Run r, Set<Integer> minority) throws Exception {
        Cluster c = r.cluster();
        Set<Integer> majority = new HashSet<>(c.baselineNodes());
        majority.removeAll(minority);
        long t0 = r.event("fault", "partition " + minority + " | " + majority);
        c.partition(minority, majority);
        Baseline.await(Duration.ofSeconds(30), "each side of the partition drops the other", () ->
            majority.stream().allMatch(n -> Baseline.members(c, n) == majority.size())
                && minority.stream().allMatch(n -> Baseline.members(c, n) == minority.size()));
        long seen = r.event("detected", "both sides dropped the other from their member view");
        r.figure("partition to both sides' views (ms)", seen - t0);
        return seen;
    }

    /** Heals the partition and checks that every node converges to one view and one fingerprint. */
    static void heal(Run r) throws Exception {
        Cluster c = r.cluster();
        long h = r.event("healed", "partition healed");
        c.heal();
        List<Integer> nodes = c.baselineNodes();
        try {
            Baseline.await(Duration.ofMillis(CONVERGENCE_BOUND_MS * 3), "one view and one fingerprint",
                () -> Baseline.atBaseline(c, nodes) || converged(c, nodes));
        } catch (IllegalStateException e) {
            // the invariant below reports it with the last views
        }
        r.hold(600);   // a few more view samples
        r.check(Checks.converged(r.views(), nodes, h, CONVERGENCE_BOUND_MS));
    }

    private static boolean converged(Cluster c, List<Integer> nodes) {
        Map<Integer, String> fps = Baseline.fingerprints(c, nodes);
        return fps.size() == nodes.size() && new HashSet<>(fps.values()).size() == 1
            && nodes.stream().allMatch(n -> Baseline.members(c, n) == nodes.size());
    }

    /** One node cut from its peers for a while, still reachable by the router and its clients. */
    static final class NodeIsolated extends Scenario {
        NodeIsolated() {
            super("node-isolated", "cut one node from its peers (gossip, flow sync) for 6 s; the router still "
                + "reaches it; heal", Set.of(Target.LAB, Target.LOOPBACK));
        }

        @Override
        public void run(Run r) throws Exception {
            int victim = r.pick(r.cluster().baselineNodes());
            r.sampleViews();
            r.traffic(Traffic.Spec.standard());
            r.hold(2000);
            split(r, Set.of(victim));
            r.hold(3000);
            heal(r);
            r.hold(1000);
            r.finish(Run.Expect.allHold(STILL_PATH_STALL_MS, "no path changed"));
        }
    }

    /** A 2 + 1 split with a pool change on the majority side, then a heal. */
    static final class MeshSplit extends Scenario {
        MeshSplit() {
            super("mesh-split", "split the mesh 2 + 1, change the pool on the majority, heal: one fingerprint again",
                Set.of(Target.LAB, Target.LOOPBACK));
        }

        @Override
        public void run(Run r) throws Exception {
            Cluster c = r.cluster();
            int victim = r.pick(c.baselineNodes());
            List<Integer> majority = new ArrayList<>(c.baselineNodes());
            majority.remove(Integer.valueOf(victim));
            int added = c.backends().stream().filter(j -> !c.baselinePool().contains(j)).findFirst().orElseThrow();
            r.sampleViews();
            r.traffic(Traffic.Spec.standard());
            r.hold(2000);
            split(r, Set.of(victim));
            r.addBackend(majority.get(0), added);
            r.awaitEligible(majority, c.baselinePool().size() + 1);
            r.hold(1500);
            Map<Integer, String> during = Baseline.fingerprints(c, c.baselineNodes());
            r.figure("fingerprints during the split", during.toString());
            r.check(Checks.atLeast("distinct fingerprints during the split (the cut-off node missed the change)",
                new HashSet<>(during.values()).size(), "fingerprints", 2, during.toString()));
            r.hold(1500);
            heal(r);
            r.hold(1000);
            r.finish(Run.Expect.allHold(STILL_PATH_STALL_MS, "no path changed"));
        }
    }

    /** The router's link to one node goes down for a while: the node is cut from everything, then comes back. */
    static final class NodeLinkDown extends Scenario {
        NodeLinkDown() {
            super("node-link-down", "take the router's link to one node down for 5 s (cut from clients, peers and "
                + "backends, its route gone), then up again", Set.of(Target.LAB));
        }

        @Override
        public void run(Run r) throws Exception {
            Cluster c = r.cluster();
            int victim = r.pick(c.baselineNodes());
            r.sampleViews();
            r.traffic(io.l4mesh.chaos.traffic.Traffic.Spec.standard());
            r.hold(2000);
            long t0 = r.event("fault", "router link to node-" + victim + " down");
            r.lab().routerLinkDown(victim);
            long withdrawal = r.awaitServing(victim, false) - t0;
            r.figure("link down to withdrawal (ms)", withdrawal);
            r.hold(5000);
            long h = r.event("healed", "router link to node-" + victim + " up");
            c.heal();
            r.figure("link up to serving again (ms)", r.awaitServing(victim, true) - h);
            Baseline.await(Duration.ofSeconds(30), "one view and one fingerprint again",
                () -> converged(c, c.baselineNodes()));
            r.hold(2000);
            r.check(Checks.converged(r.views(), c.baselineNodes(), h, CONVERGENCE_BOUND_MS, "the link came back"));
            r.finish(Run.Expect.allHold(NodeScenarios.stallBound(withdrawal), NodeScenarios.STALL_WHY));
        }
    }

    /** BIRD restarts on the router; then one BGP session flaps. */
    static final class RouterFlap extends Scenario {
        RouterFlap() {
            super("router-flap", "restart BIRD on the router (every route goes and comes back), then flap one BGP "
                + "session for 2 s", Set.of(Target.LAB));
        }

        @Override
        public void run(Run r) throws Exception {
            Cluster c = r.cluster();
            List<Integer> nodes = c.baselineNodes();
            r.traffic(Traffic.Spec.standard());
            r.hold(2000);
            long t0 = r.event("fault", "restart BIRD on the router");
            r.lab().restartRouterBird();
            Baseline.await(Duration.ofSeconds(30), "every node's route back at the router",
                () -> c.serving().containsAll(nodes));
            long back = r.event("healed", "the router has every node's route again");
            long outage = back - t0;
            r.figure("router restart to every route back (ms)", outage);
            r.hold(3000);
            int victim = r.pick(nodes);
            long f0 = r.event("fault", "flap the router's BGP session with node-" + victim + " (2 s down)");
            r.lab().flapBgpSession(victim, Duration.ofSeconds(2));
            r.awaitServing(victim, true);
            long back2 = r.event("healed", "session with node-" + victim + " up, its route back");
            r.figure("session flap to route back (ms)", back2 - f0);
            r.hold(3000);
            // while the router has no route to the VIP, new connections cannot succeed: it answers "unreachable"
            r.finish(Run.Expect.allHold(NodeScenarios.stallBound(outage), "2 x the outage + 1 s: TCP's doubling "
                + "retransmission").newConnections(back + 1000, Long.MAX_VALUE, "once every route is back"));
            long failedOutage = r.failedNewConnections(t0).stream().filter(t -> t < back + 1000).count();
            r.figure("new connections refused while the router had no route", failedOutage);
        }
    }
}
