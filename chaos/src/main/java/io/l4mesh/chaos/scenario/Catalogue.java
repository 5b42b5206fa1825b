package io.l4mesh.chaos.scenario;

import java.util.List;
import java.util.Optional;

/** Every scenario of the suite, in the order a full run takes them. */
public final class Catalogue {
    private Catalogue() {
    }

    public static List<Scenario> all() {
        return List.of(
            NodeScenarios.nodeKill(),
            NodeScenarios.nodeHang(),
            NodeScenarios.nodeDrain(),
            new NodeScenarios.RollingRestart(),
            new NodeScenarios.NodeJoin(),
            new NodeScenarios.SeedDownJoin(),
            new NetworkScenarios.NodeIsolated(),
            new NetworkScenarios.MeshSplit(),
            new NetworkScenarios.NodeLinkDown(),
            new NetworkScenarios.RouterFlap(),
            new BackendScenarios.BackendKill(),
            new BackendScenarios.BackendFlap(),
            new BackendScenarios.BackendFreeze(),
            new BackendScenarios.BackendRemove(),
            new MeshScenarios.PoolChangeNodeFault("pool-change-node-kill", "two backends join the pool, 1 s later "
                + "kill -9 one node: with flow sync no connection breaks (and without it, some do)", "KILL", false),
            new MeshScenarios.PoolChangeNodeFault("pool-change-node-hang", "two backends join the pool, 1 s later "
                + "SIGSTOP one node: no connection breaks", "STOP", false),
            new MeshScenarios.GossipLoss(),
            new MeshScenarios.PoolChangeNodeFault("sync-loss", "every node loses 20% of its flow-sync datagrams, then "
                + "pool-change-node-kill: the NAKs recover them, no connection breaks", "KILL", true));
    }

    public static Optional<Scenario> named(String name) {
        return all().stream().filter(s -> s.name().equals(name)).findFirst();
    }

    /** Whether the runner also runs the scenario's control on a lab without flow sync. */
    public static boolean hasControl(Scenario s) {
        return s instanceof MeshScenarios.PoolChangeNodeFault p && p.hasControl();
    }

    /** Runs the control of a scenario that has one ({@link #hasControl}). */
    public static void control(Scenario s, Run r) throws Exception {
        ((MeshScenarios.PoolChangeNodeFault) s).control(r);
    }
}
