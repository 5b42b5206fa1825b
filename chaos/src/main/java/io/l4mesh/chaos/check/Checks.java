package io.l4mesh.chaos.check;

import io.l4mesh.chaos.traffic.LongConnection;
import io.l4mesh.chaos.traffic.ShortConnections;
import io.l4mesh.chaos.traffic.UdpFlows;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The invariant checkers: each turns what the suite recorded from outside (clients, the nodes' admin APIs, the
 * router) into an {@link Invariant}. Pure functions of their inputs, so each has a unit test that shows it fails
 * when its invariant is broken.
 */
public final class Checks {
    private Checks() {
    }

    /**
     * Established connections whose backend stayed alive are never broken: no reset, no close, no wrong echo, no
     * move to another backend.
     *
     * @param dead backends (by the name they answer with) that died during the run: their connections may break
     */
    public static Invariant unbroken(Collection<LongConnection.Result> conns, Set<String> dead) {
        List<String> broken = new ArrayList<>();
        int considered = 0;
        for (LongConnection.Result c : conns) {
            if (c.backend() != null && dead.contains(c.backend())) {
                continue;
            }
            considered++;
            if (c.failure() != null) {
                broken.add("c" + c.id() + " (" + c.backend() + ", " + c.failure().name().toLowerCase() + " at "
                    + c.failedAtMs() + " ms: " + c.detail() + ")");
            }
        }
        return new Invariant("established connections unbroken", broken.size(), "of " + considered, "= 0",
            broken.isEmpty(), first(broken));
    }

    /** The longest stall of a connection whose backend stayed alive stays within {@code boundMs}. */
    public static Invariant longestStall(Collection<LongConnection.Result> conns, Set<String> dead, long boundMs,
                                         String why) {
        long max = 0;
        String who = "-";
        for (LongConnection.Result c : conns) {
            if (c.backend() != null && dead.contains(c.backend())) {
                continue;
            }
            if (c.maxGapMs() > max) {
                max = c.maxGapMs();
                who = "c" + c.id() + " on " + c.backend();
            }
        }
        return new Invariant("longest stall", max, "ms", "<= " + boundMs + " ms (" + why + ")", max <= boundMs,
            "slowest: " + who);
    }

    /**
     * No new flow reaches a dead backend later than the detection window after its death.
     *
     * @param evidenceMs times (run clock) at which a new flow reached it: a node placed one there (its flow counter
     *                   rose) or a client's new connection failed
     */
    public static Invariant deadBackendAvoided(String backend, long deathMs, long windowMs, List<Long> evidenceMs) {
        long last = -1;
        for (long t : evidenceMs) {
            if (t >= deathMs) {
                last = Math.max(last, t - deathMs);
            }
        }
        return new Invariant("no new flow reaches the dead " + backend + " after the detection window",
            Math.max(0, last), "ms after its death", "<= " + windowMs + " ms (fall x interval + interval)",
            last <= windowMs, last < 0 ? "no new flow reached it after it died" : "last one " + last + " ms after");
    }

    /** Every new connection started in {@code [fromMs, toMs)} succeeds. */
    public static Invariant newConnectionsSucceed(List<ShortConnections.Attempt> attempts, long fromMs, long toMs,
                                                  String when) {
        return newConnectionsSucceed(attempts, fromMs, toMs, when, Long.MAX_VALUE, Long.MAX_VALUE, "");
    }

    /**
     * Every new connection started in {@code [fromMs, toMs)} succeeds, except one that connected and then broke while
     * it was open at some time in {@code [sparedFromMs, sparedToMs)}: a pool change that breaks the established
     * connections of a backend breaks a short one that was open on it just the same (it was established too).
     * A connection that failed to connect, or that started after the span, is never spared.
     *
     * @param sparedWhy what happened in the span, for the detail line
     */
    public static Invariant newConnectionsSucceed(List<ShortConnections.Attempt> attempts, long fromMs, long toMs,
                                                  String when, long sparedFromMs, long sparedToMs, String sparedWhy) {
        int total = 0;
        int spared = 0;
        List<String> failed = new ArrayList<>();
        for (ShortConnections.Attempt a : attempts) {
            if (a.startMs() >= fromMs && a.startMs() < toMs) {
                total++;
                if (a.brokeAfterConnect() && a.startMs() < sparedToMs && a.endMs() >= sparedFromMs) {
                    spared++;
                } else if (!a.ok()) {
                    failed.add("s" + a.id() + " at " + a.startMs() + " ms: " + a.failure());
                }
            }
        }
        String detail = total == 0 ? "no connection was tried in that time" : first(failed);
        if (spared > 0) {
            detail = (detail.isEmpty() ? "" : detail + "; ") + spared + " open while " + sparedWhy
                + " broke with it (not counted)";
        }
        return new Invariant("new connections succeed " + when, failed.size(), "failed of " + total,
            "= 0 (and at least one tried)", failed.isEmpty() && total > 0, detail);
    }

    /** Samples of every node's fingerprint and member count, for {@link #converged}. */
    public record ViewSample(long atMs, Map<Integer, String> fingerprints, Map<Integer, Integer> members) {
    }

    /**
     * After {@code healMs}, every node of {@code nodes} reports one fingerprint and sees all of them as members
     * within {@code boundMs}.
     */
    public static Invariant converged(List<ViewSample> samples, Collection<Integer> nodes, long healMs, long boundMs) {
        return converged(samples, nodes, healMs, boundMs, "the heal");
    }

    /** {@link #converged} after {@code what} (a heal, a pool change) happened at {@code fromMs}. */
    public static Invariant converged(List<ViewSample> samples, Collection<Integer> nodes, long healMs, long boundMs,
                                      String what) {
        double at = Double.POSITIVE_INFINITY;
        String last = "no sample after " + what;
        for (ViewSample s : samples) {
            if (s.atMs() < healMs) {
                continue;
            }
            Set<String> fps = new TreeSet<>();
            boolean all = true;
            for (int n : nodes) {
                String fp = s.fingerprints().get(n);
                Integer m = s.members().get(n);
                all &= fp != null && m != null && m == nodes.size();
                if (fp != null) {
                    fps.add(fp);
                }
            }
            last = "at " + s.atMs() + " ms: fingerprints " + s.fingerprints() + ", members " + s.members();
            if (all && fps.size() == 1) {
                at = s.atMs() - healMs;
                break;
            }
        }
        return new Invariant("every node reports one fingerprint after " + what, at, "ms", "<= " + boundMs + " ms",
            at <= boundMs, Double.isInfinite(at) ? "never converged; last " + last : "converged " + (long) at
            + " ms after " + what);
    }

    /** No node died that the scenario did not kill. */
    public static Invariant noCrash(List<String> unexpectedExits) {
        return new Invariant("no node crashed", unexpectedExits.size(), "nodes", "= 0", unexpectedExits.isEmpty(),
            first(unexpectedExits));
    }

    /** No node's resident memory went above the bound. */
    public static Invariant memoryBound(Map<Integer, Long> peakRssBytes, long boundBytes) {
        long max = 0;
        int who = 0;
        for (var e : peakRssBytes.entrySet()) {
            if (e.getValue() > max) {
                max = e.getValue();
                who = e.getKey();
            }
        }
        return new Invariant("node memory within its bound", Math.round(max / 1048576.0), "MiB peak RSS",
            "<= " + (boundBytes >> 20) + " MiB", max <= boundBytes, who == 0 ? "no sample" : "highest: node-" + who);
    }

    /**
     * A node that starts serving (appears among the router's next hops) was ready at that moment: its self-check
     * passed and it held the flows it must be able to place.
     *
     * @param replica  flows in its replica when it appeared ({@code -1}: not checked, no flow sync)
     * @param expected flows it must know (the live long connections)
     */
    public record Appearance(int node, long atMs, int healthz, long replica, long expected) {
        boolean ready() {
            return healthz == 200 && (replica < 0 || replica >= expected);
        }
    }

    public static Invariant readyBeforeServing(List<Appearance> appearances) {
        List<String> early = new ArrayList<>();
        for (Appearance a : appearances) {
            if (!a.ready()) {
                early.add("node-" + a.node() + " at " + a.atMs() + " ms: /healthz " + a.healthz() + ", "
                    + a.replica() + " of " + a.expected() + " flows");
            }
        }
        return new Invariant("no node serves before it is ready", early.size(), "of " + appearances.size()
            + " announcements", "= 0", early.isEmpty(), early.isEmpty() ? appearances.size()
            + " announcements checked" : first(early));
    }

    /** A flapping backend does not rebuild the tables with every flap. */
    public static Invariant flapDamped(Map<Integer, Long> rebuildsPerNode, int flaps, long bound) {
        long max = 0;
        int who = 0;
        for (var e : rebuildsPerNode.entrySet()) {
            if (e.getValue() > max) {
                max = e.getValue();
                who = e.getKey();
            }
        }
        return new Invariant("flap damping holds: table rebuilds while the backend flapped", max,
            "rebuilds (" + flaps + " flaps)", "<= " + bound, max <= bound, who == 0 ? "no rebuild"
            : "most on node-" + who + "; per node " + rebuildsPerNode);
    }

    /** UDP flows whose backend stayed alive keep their backend. */
    public static Invariant udpFlowsKeepBackend(List<UdpFlows.Result> flows, Set<String> dead) {
        List<String> moved = new ArrayList<>();
        int considered = 0;
        for (UdpFlows.Result f : flows) {
            if (f.changesSeen().stream().anyMatch(c -> dead.stream().anyMatch(c::contains))) {
                continue;
            }
            considered++;
            if (f.changes() > 0) {
                moved.add("u" + f.id() + ": " + f.changesSeen());
            }
        }
        return new Invariant("UDP flows keep their backend", moved.size(), "of " + considered, "= 0",
            moved.isEmpty(), first(moved));
    }

    /** A fact that must hold, measured as a count: {@code value} must be at least {@code min}. */
    public static Invariant atLeast(String name, double value, String unit, double min, String detail) {
        return new Invariant(name, value, unit, ">= " + (min == Math.rint(min) ? Long.toString((long) min) : min),
            value >= min, detail);
    }

    /** A fact that must hold, measured as a count or time: {@code value} must be at most {@code max}. */
    public static Invariant atMost(String name, double value, String unit, double max, String detail) {
        return new Invariant(name, value, unit, "<= " + (max == Math.rint(max) ? Long.toString((long) max) : max),
            value <= max, detail);
    }

    private static String first(List<String> items) {
        if (items.isEmpty()) {
            return "";
        }
        return items.size() <= 3 ? String.join("; ", items) : String.join("; ", items.subList(0, 3)) + "; and "
            + (items.size() - 3) + " more";
    }
}
