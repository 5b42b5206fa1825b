package io.l4mesh.chaos.scenario;

import io.l4mesh.chaos.check.Checks;
import io.l4mesh.chaos.cluster.Baseline;
import io.l4mesh.chaos.cluster.Cluster;
import io.l4mesh.chaos.report.Sample;
import io.l4mesh.chaos.traffic.RunClock;
import io.l4mesh.chaos.traffic.Traffic;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.IntPredicate;

/**
 * Watches a scenario from outside while it runs: every 100 ms the traffic and the serving nodes (the timeline);
 * every node's process (a node that exits without the scenario killing it crashed) and its memory; on request the
 * nodes' fingerprints and member counts (for convergence), and a backend's flow counters on every node (did a node
 * place a new flow there?).
 *
 * <p>Threading: its own thread; results are read after {@link #stop}.
 */
final class Sampler implements AutoCloseable {
    static final long PERIOD_MS = 100;

    private final Cluster cluster;
    private final RunClock clock;
    private final IntPredicate expectedDown;
    private volatile Traffic traffic;
    private final List<Sample> samples = new CopyOnWriteArrayList<>();
    private final List<Checks.ViewSample> views = new CopyOnWriteArrayList<>();
    private final Map<Integer, Long> peakRss = new ConcurrentHashMap<>();
    private final List<String> crashes = new CopyOnWriteArrayList<>();
    private final Set<Integer> crashed = ConcurrentHashMap.newKeySet();
    private final Map<String, List<long[]>> backendFlows = new ConcurrentHashMap<>();
    private volatile boolean sampleViews;
    private volatile boolean running = true;
    private final Thread thread;

    Sampler(Cluster cluster, RunClock clock, IntPredicate expectedDown) {
        this.cluster = cluster;
        this.clock = clock;
        this.expectedDown = expectedDown;
        this.thread = Thread.ofPlatform().daemon().name("chaos-sampler").start(this::loop);
    }

    void traffic(Traffic t) {
        this.traffic = t;
    }

    /** From now on, also record every node's fingerprint and member count (every other sample). */
    void sampleViews(boolean on) {
        sampleViews = on;
    }

    /** From now on, also record each node's count of flows placed on backend {@code id} and connects that failed. */
    void watchBackend(String id) {
        backendFlows.putIfAbsent(id, new CopyOnWriteArrayList<>());
    }

    private void loop() {
        long tick = 0;
        while (running) {
            long started = System.nanoTime();
            sampleOnce(tick++);
            long left = PERIOD_MS - (System.nanoTime() - started) / 1_000_000;
            if (left > 0) {
                try {
                    Thread.sleep(left);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    private void sampleOnce(long tick) {
        long now = clock.nowMs();
        Traffic t = traffic;
        Traffic.Snapshot s = t == null ? new Traffic.Snapshot(0, 0, 0) : t.snapshot();
        samples.add(new Sample(now, s.live(), s.stalled(), s.failed(), List.copyOf(new TreeSet<>(cluster.serving()))));
        List<Integer> nodes = new ArrayList<>(cluster.baselineNodes());
        if (cluster.spareNode() > 0) {
            nodes.add(cluster.spareNode());
        }
        for (int n : nodes) {
            boolean up = cluster.running(n);
            if (!up && cluster.baselineNodes().contains(n) && !expectedDown.test(n) && crashed.add(n)) {
                crashes.add("node-" + n + " exited at " + now + " ms without being killed");
            }
            if (up && tick % 5 == 0) {
                peakRss.merge(n, cluster.rssBytes(n), Math::max);
            }
        }
        if (sampleViews && tick % 2 == 0) {
            Map<Integer, String> fps = new HashMap<>();
            Map<Integer, Integer> members = new HashMap<>();
            for (int n : nodes) {
                if (cluster.running(n)) {
                    Baseline.PoolView v = Baseline.pool(cluster, n);
                    if (v != null) {
                        fps.put(n, v.fingerprint());
                    }
                    int m = Baseline.members(cluster, n);
                    if (m >= 0) {
                        members.put(n, m);
                    }
                }
            }
            views.add(new Checks.ViewSample(clock.nowMs(), fps, members));
        }
        if (!backendFlows.isEmpty()) {
            for (var e : backendFlows.entrySet()) {
                long sum = 0;
                for (int n : nodes) {
                    if (cluster.running(n)) {
                        sum += flowsTo(n, e.getKey());
                    }
                }
                e.getValue().add(new long[] {clock.nowMs(), sum});
            }
        }
    }

    /** New flows node {@code n} placed on backend {@code id} plus live connects to it that failed, so far. */
    private long flowsTo(int n, String id) {
        try {
            String m = cluster.admin(n, "GET", "/metrics", null).body();
            String b = java.util.regex.Pattern.quote(id);
            return (long) (io.l4mesh.chaos.lab.Lab.sumOf(m, "l4mesh_backend_connections_total\\{[^}]*backend=\""
                + b + "\"[^}]*}") + io.l4mesh.chaos.lab.Lab.sumOf(m,
                "l4mesh_backend_connect_failures_total\\{[^}]*backend=\"" + b + "\"[^}]*}"));
        } catch (Exception e) {
            return 0;
        }
    }

    /**
     * Times at which some node placed a new flow on backend {@code id} (its counters rose between two samples),
     * after {@code fromMs}: the sample that saw the rise, so at most one {@link #PERIOD_MS} late.
     */
    List<Long> flowsPlacedOn(String id, long fromMs) {
        List<long[]> s = backendFlows.getOrDefault(id, List.of());
        List<Long> out = new ArrayList<>();
        for (int i = 1; i < s.size(); i++) {
            if (s.get(i)[1] > s.get(i - 1)[1] && s.get(i)[0] >= fromMs) {
                out.add(s.get(i)[0]);
            }
        }
        return out;
    }

    List<Sample> samples() {
        return List.copyOf(samples);
    }

    List<Checks.ViewSample> views() {
        return List.copyOf(views);
    }

    Map<Integer, Long> peakRss() {
        return Map.copyOf(peakRss);
    }

    List<String> crashes() {
        return List.copyOf(crashes);
    }

    void stop() {
        running = false;
        thread.interrupt();
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        stop();
    }
}
