package io.l4mesh.chaos.scenario;

import io.l4mesh.chaos.cluster.Cluster;
import io.l4mesh.chaos.cluster.Target;
import java.util.Set;

/**
 * One chaos scenario: a named sequence of faults against a cluster under traffic, and the invariants that must
 * hold. The runner brings the cluster to its baseline before each scenario; the scenario starts the traffic,
 * injects and withdraws its faults through the {@link Run}, and ends with {@link Run#finish}.
 */
public abstract class Scenario {
    private final String name;
    private final String summary;
    private final Set<Target> targets;

    protected Scenario(String name, String summary, Set<Target> targets) {
        this.name = name;
        this.summary = summary;
        this.targets = Set.copyOf(targets);
    }

    public String name() {
        return name;
    }

    /** One line: what it does. */
    public String summary() {
        return summary;
    }

    /** The clusters it can run on; the runner prefers the lab. */
    public Set<Target> targets() {
        return targets;
    }

    /** Why it cannot run on this cluster (one line), or null when it can. */
    public String unsupported(Cluster c) {
        return null;
    }

    /** Runs the scenario: traffic, faults, heals, and its checks. */
    public abstract void run(Run r) throws Exception;
}
