package io.l4mesh.chaos.scenario;

import io.l4mesh.chaos.check.Checks;
import io.l4mesh.chaos.check.Invariant;
import io.l4mesh.chaos.cluster.Baseline;
import io.l4mesh.chaos.cluster.Cluster;
import io.l4mesh.chaos.cluster.LabCluster;
import io.l4mesh.chaos.report.Event;
import io.l4mesh.chaos.report.ScenarioResult;
import io.l4mesh.chaos.traffic.LongConnection;
import io.l4mesh.chaos.traffic.RunClock;
import io.l4mesh.chaos.traffic.ShortConnections;
import io.l4mesh.chaos.traffic.Traffic;
import io.l4mesh.chaos.traffic.UdpFlows;
import io.l4mesh.node.admin.AdminClient;
import io.l4mesh.chaos.lab.Lab;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * One scenario's run: the cluster, the seeded random choices, the traffic, the sampler, and everything recorded
 * (steps, figures, invariants). Scenarios act through it so that every fault is printed as it lands and marked on
 * the timeline, every node the scenario takes down is known not to have crashed, and the standard invariants are
 * checked the same way everywhere ({@link #finish}).
 *
 * <p>Threading: the scenario's thread; the serving-change listener and the sampler add to the thread-safe lists.
 */
public final class Run implements AutoCloseable {
    /** How long a run waits for a node to leave or rejoin the serving set before it fails. */
    static final Duration SERVING_TIMEOUT = Duration.ofSeconds(30);

    private final Scenario scenario;
    /** The name this run reports under (the scenario's, or its control's). */
    private final String name;
    private final Cluster cluster;
    private final SplittableRandom random;
    private final PrintStream out;
    private final RunClock clock = new RunClock();
    private final List<Event> events = new CopyOnWriteArrayList<>();
    private final List<Invariant> invariants = new ArrayList<>();
    private final Map<String, Object> figures = new LinkedHashMap<>();
    private final Set<Integer> expectedDown = ConcurrentHashMap.newKeySet();
    private final List<Checks.Appearance> appearances = new CopyOnWriteArrayList<>();
    private final Sampler sampler;
    private volatile Set<Integer> lastServing;
    private Traffic traffic;
    private List<LongConnection.Result> longResults = List.of();
    private List<ShortConnections.Attempt> shortResults = List.of();
    private List<UdpFlows.Result> udpResults = List.of();
    private boolean finished;

    Run(Scenario scenario, Cluster cluster, long seed, PrintStream out, String name) {
        this.scenario = scenario;
        this.name = name;
        this.cluster = cluster;
        this.random = new SplittableRandom(seed ^ scenario.name().hashCode());
        this.out = out;
        this.lastServing = Set.copyOf(cluster.serving());
        this.sampler = new Sampler(cluster, clock, expectedDown::contains);
        cluster.onServingChange(this::servingChanged);
    }

    public Cluster cluster() {
        return cluster;
    }

    /** The lab, for lab-only faults (the scenario runs only on the lab). */
    public LabCluster lab() {
        return (LabCluster) cluster;
    }

    public long nowMs() {
        return clock.nowMs();
    }

    /** A seeded choice among {@code items}. */
    public <T> T pick(List<T> items) {
        return items.get(random.nextInt(items.size()));
    }

    /** A seeded choice of {@code n} distinct items. */
    public <T> List<T> pick(List<T> items, int n) {
        List<T> left = new ArrayList<>(items);
        List<T> out = new ArrayList<>();
        for (int i = 0; i < n && !left.isEmpty(); i++) {
            out.add(left.remove(random.nextInt(left.size())));
        }
        return out;
    }

    /** Records and prints one step: {@code +  3.412 s  fault      kill -9 node-2 (pid 4242)}. */
    public long event(String kind, String what) {
        long at = clock.nowMs();
        events.add(new Event(at, kind, what));
        out.printf("  %-16s +%7.3f s  %-10s %s%n", label(), at / 1000.0, kind, what);
        out.flush();
        return at;
    }

    /** A measured value for the report's figures. */
    public void figure(String name, Object value) {
        figures.put(name, value);
    }

    public void check(Invariant i) {
        invariants.add(i);
        out.printf("  %-16s %s %s: %s (bound %s)%s%n", label(), i.held() ? "held  " : "BROKEN", i.name(),
            i.measured(), i.bound(), i.held() || i.detail().isEmpty() ? "" : " - " + i.detail());
        out.flush();
    }

    private String label() {
        return name;
    }

    private void servingChanged(Set<Integer> now) {
        Set<Integer> before = lastServing;
        lastServing = Set.copyOf(now);
        for (int n : before) {
            if (!now.contains(n)) {
                event("withdrawn", "node-" + n + " stopped serving (serving: " + new TreeSet<>(now) + ")");
            }
        }
        for (int n : now) {
            if (!before.contains(n)) {
                long at = event("back", "node-" + n + " serves (serving: " + new TreeSet<>(now) + ")");
                if (cluster instanceof LabCluster && cluster.flowSync()) {
                    Thread.ofVirtual().start(() -> appeared(n, at));
                }
            }
        }
    }

    /** Checks from outside that a node that just started serving was ready: /healthz 200, the live flows known. */
    private void appeared(int n, long at) {
        int healthz;
        long replica = -1;
        try {
            healthz = cluster.admin(n, "GET", "/healthz", null).status();
            String m = cluster.admin(n, "GET", "/metrics", null).body();
            replica = (long) Lab.sumOf(m,
                "l4mesh_flow_table_entries\\{[^}]*listener=\"vip\"[^}]*table=\"replica\"[^}]*}");
        } catch (Exception e) {
            healthz = -1;
        }
        Traffic t = traffic;
        long expected = t == null ? 0 : t.snapshot().live() + t.snapshot().stalled();
        appearances.add(new Checks.Appearance(n, at, healthz, replica, expected));
    }

    /** Starts the traffic and waits until every long connection has exchanged a few lines. */
    public Traffic traffic(Traffic.Spec spec) throws Exception {
        traffic = Traffic.start(cluster.clients(), spec, random.nextLong(), clock);
        sampler.traffic(traffic);
        event("step", "traffic: " + spec.longConnections() + " long connections, " + spec.shortPerSecond()
            + " new a second, " + spec.udpFlows() + " UDP flows");
        try {
            Baseline.await(Duration.ofSeconds(20), "every long connection exchanging", () -> traffic.warmedUp(5));
        } catch (IllegalStateException e) {
            List<String> bad = traffic.longConnections().stream().filter(c -> c.failure() != null || c.exchanges() < 5)
                .limit(3).map(c -> "c" + c.id() + " (" + c.backend() + "): " + (c.failure() == null ? c.exchanges()
                    + " exchanges" : c.failure() + " " + c.detail())).toList();
            throw new IllegalStateException(e.getMessage() + "; first: " + bad, e);
        }
        return traffic;
    }

    /** Lets the traffic run for {@code ms}. */
    public void hold(long ms) throws InterruptedException {
        Thread.sleep(ms);
    }

    /** Also samples every node's fingerprint and members from now on (for {@link Checks#converged}). */
    public void sampleViews() {
        sampler.sampleViews(true);
    }

    /** Also samples the flows every node places on backend {@code j} from now on. */
    public void watchBackend(int j) {
        sampler.watchBackend(cluster.backendId(j));
    }

    /**
     * Every time, in {@code [fromMs, toMs)}, that a new flow reached backend {@code j}: a node placed one there (its
     * flow counter rose) or a client's new connection failed. Read after {@link #finish}.
     */
    public List<Long> newFlowsReaching(int j, long fromMs, long toMs) {
        List<Long> evidence = new ArrayList<>(flowsPlacedOn(j, fromMs));
        evidence.addAll(failedNewConnections(fromMs));
        evidence.removeIf(t -> t >= toMs);
        return evidence;
    }

    /** Sends SIGCONT to a node it hung, and records how long until it serves again. */
    public void cont(int n) throws Exception {
        long cont = event("healed", "SIGCONT node-" + n);
        cluster.signal(n, "CONT");
        figure("SIGCONT to serving again (ms)", awaitServing(n, true) - cont);
    }

    /** Times a node placed a new flow on backend {@code j}, from {@code fromMs}. */
    public List<Long> flowsPlacedOn(int j, long fromMs) {
        return sampler.flowsPlacedOn(cluster.backendId(j), fromMs);
    }

    // ---- node faults

    /** Sends {@code signal} to node {@code n}; KILL, STOP and TERM mark it as taken down on purpose. */
    public long signal(int n, String signal, String what) throws Exception {
        if (!signal.equals("CONT")) {
            expectedDown.add(n);
        }
        long at = event("fault", what + " node-" + n + " (pid " + cluster.pid(n) + ")");
        cluster.signal(n, signal);
        return at;
    }

    /** Starts node {@code n} (after it was killed, or a spare) and waits until it serves again. */
    public long startAndAwaitServing(int n) throws Exception {
        long t0 = event("healed", "start node-" + n);
        cluster.start(n);
        long at = awaitServing(n, true);
        figure("node-" + n + " start to serving (ms)", at - t0);
        return at;
    }

    /** Waits until node {@code n} serves ({@code serving}) or stops serving; returns when (run clock). */
    public long awaitServing(int n, boolean serving) throws Exception {
        Baseline.await(SERVING_TIMEOUT, "node-" + n + (serving ? " serving" : " withdrawn"),
            () -> cluster.serving().contains(n) == serving);
        return clock.nowMs();
    }

    /** The node that answers admin calls for pool changes: the first baseline node that serves. */
    public int anyServingNode() {
        return cluster.baselineNodes().stream().filter(n -> cluster.serving().contains(n)).findFirst()
            .orElse(cluster.baselineNodes().get(0));
    }

    /** Adds backend {@code j} to the pool through {@code via}'s admin API. */
    public void addBackend(int via, int j) throws Exception {
        event("step", "add " + cluster.backendId(j) + " to pool " + cluster.pool() + " (through node-" + via + ")");
        expectOk(cluster.admin(via, "POST", "/pools/" + cluster.pool() + "/backends", "{\"address\": \""
            + cluster.backendId(j) + "\"}"), "add backend " + j);
    }

    /** Removes backend {@code j} from the pool through {@code via}'s admin API. */
    public void removeBackend(int via, int j) throws Exception {
        event("fault", "remove " + cluster.backendId(j) + " from pool " + cluster.pool());
        expectOk(cluster.admin(via, "DELETE", "/pools/" + cluster.pool() + "/backends/"
            + AdminClient.segment(cluster.backendId(j)), null), "remove backend " + j);
    }

    /** A fault seam call on node {@code n} ({@code POST /fault/...}). */
    public void fault(int n, String seam, String body) throws Exception {
        expectOk(cluster.admin(n, "POST", "/fault/" + seam, body), "fault " + seam + " on node-" + n);
    }

    static void expectOk(AdminClient.Response r, String what) {
        if (!r.ok()) {
            throw new IllegalStateException(what + ": " + r.status() + " " + r.error());
        }
    }

    /** Waits until every node of {@code nodes} routes {@code n} eligible backends (the change reached them). */
    public void awaitEligible(List<Integer> nodes, int n) throws Exception {
        Baseline.await(Duration.ofSeconds(20), "every node routes " + n + " backends", () -> nodes.stream()
            .allMatch(x -> {
                Baseline.PoolView v = Baseline.pool(cluster, x);
                return v != null && v.eligible() == n;
            }));
    }

    // ---- the end

    /**
     * What the standard invariants expect of this scenario.
     *
     * @param deadBackends    backends (by name) that die: their connections may break, stall and move
     * @param stalledBackends backends that hang for a while: their connections may stall (and UDP flows move) but
     *                        must not break
     */
    public record Expect(Set<String> deadBackends, Set<String> stalledBackends, long stallBoundMs, String stallWhy,
                         long newConnectionsFromMs, long newConnectionsToMs, String newConnectionsWhen,
                         long sparedFromMs, long sparedToMs, String sparedWhy) {
        /** Nothing dies, no stall beyond {@code stallBoundMs}, every new connection of the run succeeds. */
        public static Expect allHold(long stallBoundMs, String why) {
            return new Expect(Set.of(), Set.of(), stallBoundMs, why, 0, Long.MAX_VALUE, "throughout",
                Long.MAX_VALUE, Long.MAX_VALUE, "");
        }

        public Expect dead(Set<String> backends) {
            return new Expect(Set.copyOf(backends), stalledBackends, stallBoundMs, stallWhy, newConnectionsFromMs,
                newConnectionsToMs, newConnectionsWhen, sparedFromMs, sparedToMs, sparedWhy);
        }

        public Expect stalled(Set<String> backends) {
            return new Expect(deadBackends, Set.copyOf(backends), stallBoundMs, stallWhy, newConnectionsFromMs,
                newConnectionsToMs, newConnectionsWhen, sparedFromMs, sparedToMs, sparedWhy);
        }

        /** Only new connections started in {@code [from, to)} must all succeed. */
        public Expect newConnections(long from, long to, String when) {
            return new Expect(deadBackends, stalledBackends, stallBoundMs, stallWhy, from, to, when, sparedFromMs,
                sparedToMs, sparedWhy);
        }

        /**
         * A new connection open at some time in {@code [from, to)} may break after it connected, as the established
         * ones on a dead backend do ({@link Checks#newConnectionsSucceed(List, long, long, String, long, long,
         * String)}).
         */
        public Expect sparedWhileOpen(long from, long to, String why) {
            return new Expect(deadBackends, stalledBackends, stallBoundMs, stallWhy, newConnectionsFromMs,
                newConnectionsToMs, newConnectionsWhen, from, to, why);
        }

        Set<String> affected() {
            Set<String> all = new java.util.HashSet<>(deadBackends);
            all.addAll(stalledBackends);
            return all;
        }
    }

    /** Stops the traffic and the sampler and keeps what they recorded, without checking anything (a control). */
    public void stop() throws Exception {
        Traffic t = traffic;
        if (t != null) {
            t.stop();
            longResults = t.longConnections().stream().map(LongConnection::result).toList();
            shortResults = t.shortConnections();
            udpResults = t.udpFlows().stream().map(UdpFlows.Flow::result).toList();
            t.close();
        }
        finished = true;
        sampler.stop();
    }

    /** Stops the traffic and the sampler and checks the standard invariants against {@code e}. */
    public void finish(Expect e) throws Exception {
        stop();
        Traffic t = traffic;
        if (t != null) {
            check(Checks.unbroken(longResults, e.deadBackends()));
            check(Checks.longestStall(longResults, e.affected(), e.stallBoundMs(), e.stallWhy()));
            long brokenOnDead = longResults.stream().filter(c -> c.failure() != null && c.backend() != null
                && e.deadBackends().contains(c.backend())).count();
            if (!e.deadBackends().isEmpty()) {
                figure("connections broken on the dead backend(s)", brokenOnDead + " of " + longResults.stream()
                    .filter(c -> e.deadBackends().contains(c.backend())).count());
            }
            if (!udpResults.isEmpty()) {
                Invariant udp = Checks.udpFlowsKeepBackend(udpResults, e.affected());
                if (!udp.held() && cluster instanceof LabCluster) {
                    udp = new Invariant(udp.name(), udp.value(), udp.unit(), udp.bound(), false, udp.detail()
                        + "; now placed: " + udpPlacements(e.affected()));
                }
                check(udp);
                long sent = udpResults.stream().mapToLong(UdpFlows.Result::sent).sum();
                long lost = udpResults.stream().mapToLong(UdpFlows.Result::lost).sum();
                figure("UDP requests lost", lost + " of " + sent);
            }
            if (!shortResults.isEmpty()) {
                check(Checks.newConnectionsSucceed(shortResults, e.newConnectionsFromMs(), e.newConnectionsToMs(),
                    e.newConnectionsWhen(), e.sparedFromMs(), e.sparedToMs(), e.sparedWhy()));
                long ok = shortResults.stream().filter(ShortConnections.Attempt::ok).count();
                figure("new connections", ok + " of " + shortResults.size() + " succeeded");
                figure("longest connect (ms)", shortResults.stream().mapToLong(ShortConnections.Attempt::connectMs)
                    .max().orElse(0));
            }
        }
        check(Checks.noCrash(sampler.crashes()));
        check(Checks.memoryBound(sampler.peakRss(), cluster.memoryBoundBytes()));
        if (!appearances.isEmpty()) {
            check(Checks.readyBeforeServing(List.copyOf(appearances)));
        }
    }

    /**
     * Where each serving node would send the first UDP flows that changed backend now (its flow table's record, or
     * the hash): tells a lost sync record from a stale one when the check fails.
     */
    private String udpPlacements(Set<String> affected) {
        List<String> out = new ArrayList<>();
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        for (UdpFlows.Result f : udpResults) {
            if (f.changes() == 0 || affected.contains(f.backend()) || f.localPort() < 0 || out.size() == 3) {
                continue;
            }
            StringBuilder b = new StringBuilder("u").append(f.id()).append(" (port ").append(f.localPort()).append(')');
            for (int n : cluster.baselineNodes()) {
                try {
                    var reply = cluster.admin(n, "GET", "/lookup?listener=vip-udp&src="
                        + Lab.clientAddress(1) + ":" + f.localPort(), null);
                    var body = json.readTree(reply.body());
                    b.append(" node-").append(n).append(": ").append(body.path("backend").asText("?")).append(" by ")
                        .append(body.path("placedBy").asText("?"));
                } catch (Exception ex) {
                    b.append(" node-").append(n).append(": ?");
                }
            }
            out.add(b.toString());
        }
        return String.join("; ", out);
    }

    public List<Checks.ViewSample> views() {
        return sampler.views();
    }

    public List<LongConnection.Result> longResults() {
        return longResults;
    }

    public List<ShortConnections.Attempt> shortResults() {
        return shortResults;
    }

    /** Short connections that failed, by start time, from {@code fromMs}. */
    public List<Long> failedNewConnections(long fromMs) {
        return shortResults.stream().filter(a -> !a.ok() && a.startMs() >= fromMs)
            .map(ShortConnections.Attempt::startMs).toList();
    }

    /** The sum of a metric over the running nodes among {@code nodes}. */
    public double metric(List<Integer> nodes, String regex) {
        double sum = 0;
        for (int n : nodes) {
            if (cluster.running(n)) {
                try {
                    sum += Lab.sumOf(cluster.admin(n, "GET", "/metrics", null).body(), regex);
                } catch (Exception ignored) {
                    // a node that does not answer adds nothing
                }
            }
        }
        return sum;
    }

    /** The scenario's result: pass when it finished and every invariant held. */
    ScenarioResult result(String error, String logs) {
        boolean held = invariants.stream().allMatch(Invariant::held);
        String verdict = error == null && finished && held ? "pass" : "fail";
        String reason = error != null ? error : !finished ? "the scenario did not finish"
            : held ? null : "broken: " + String.join("; ", invariants.stream().filter(i -> !i.held())
                .map(Invariant::name).toList());
        return new ScenarioResult(name, scenario.summary(), cluster.target().name().toLowerCase(), verdict,
            reason, clock.startEpochMs(), clock.nowMs(), List.copyOf(events), List.copyOf(invariants),
            java.util.Collections.unmodifiableMap(new LinkedHashMap<>(figures)), sampler.samples(),
            perSecond(shortResults), logs);
    }

    /** New connections per second of the run: {@code [second, attempts, succeeded]}. */
    static List<long[]> perSecond(List<ShortConnections.Attempt> attempts) {
        Map<Long, long[]> m = new java.util.TreeMap<>();
        for (ShortConnections.Attempt a : attempts) {
            long[] s = m.computeIfAbsent(a.startMs() / 1000, k -> new long[] {k, 0, 0});
            s[1]++;
            s[2] += a.ok() ? 1 : 0;
        }
        return List.copyOf(m.values());
    }

    @Override
    public void close() {
        cluster.onServingChange(null);
        if (traffic != null) {
            traffic.close();
        }
        sampler.stop();
    }
}
