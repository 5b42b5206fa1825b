package io.l4mesh.chaos;

import io.l4mesh.chaos.check.Invariant;
import io.l4mesh.chaos.cluster.Cluster;
import io.l4mesh.chaos.cluster.LabCluster;
import io.l4mesh.chaos.cluster.LoopbackCluster;
import io.l4mesh.chaos.cluster.Target;
import io.l4mesh.chaos.fault.ToxiproxyDriver;
import io.l4mesh.chaos.report.ScenarioResult;
import io.l4mesh.chaos.report.SuiteReport;
import io.l4mesh.chaos.scenario.Catalogue;
import io.l4mesh.chaos.scenario.Scenario;
import io.l4mesh.chaos.scenario.Scenarios;
import io.l4mesh.node.packet.Commands;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Runs scenarios: picks each one's cluster (the lab where it can, loopback otherwise, or what {@code --target}
 * says), builds or reuses that cluster, brings it to its baseline before every scenario, keeps the logs of a
 * scenario that failed, and then runs the controls (the flow-sync proof without flow sync) on a lab built for them.
 *
 * <pre>{@code
 * SuiteReport r = new ChaosRunner(options, System.out).run(Catalogue.all());
 * }</pre>
 */
public final class ChaosRunner {
    /**
     * How the runner was asked to run.
     *
     * @param target    {@code auto} (lab where possible), {@code lab} or {@code loopback}
     * @param lab       an existing lab's directory to use instead of building one, or null
     * @param toxiproxy a Toxiproxy server's URL for backend faults on loopback, or null (then Testcontainers starts
     *                  one where Docker runs, else netcrusher serves; the lab's backends always use netcrusher, which
     *                  runs inside their namespaces)
     */
    public record Options(long seed, Path report, String target, Path lab, String toxiproxy) {
    }

    private final Options options;
    private final PrintStream out;
    // Volatile: a shutdown hook (SIGTERM, Ctrl-C) closes them from another thread.
    private volatile LabCluster lab;
    private volatile LoopbackCluster loopback;
    private volatile ToxiproxyDriver toxiproxy;
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();

    public ChaosRunner(Options options, PrintStream out) {
        this.options = options;
        this.out = out;
    }

    /** Why the lab cannot run here (one line), or null when it can. */
    public static String labUnavailable() {
        if (!"Linux".equals(System.getProperty("os.name"))) {
            return "the lab needs Linux";
        }
        if (!Commands.tryRun(List.of("sh", "-c", "[ \"$(id -u)\" = 0 ]"))) {
            return "the lab needs root (network namespaces, TUN devices, BIRD)";
        }
        if (!Files.exists(Path.of("/dev/net/tun"))) {
            return "no /dev/net/tun here";
        }
        if (!Files.isExecutable(Path.of("/usr/sbin/bird")) && !Files.isExecutable(Path.of("/usr/bin/bird"))) {
            return "BIRD 2 is not installed (Debian package bird2)";
        }
        return null;
    }

    /** Where {@code s} runs with these options, or null (then {@code why[0]} says why not). */
    Target targetFor(Scenario s, String labWhy, String[] why) {
        boolean canLab = s.targets().contains(Target.LAB) && labWhy == null;
        boolean canLoop = s.targets().contains(Target.LOOPBACK);
        switch (options.target()) {
            case "lab" -> {
                if (canLab) {
                    return Target.LAB;
                }
                why[0] = s.targets().contains(Target.LAB) ? labWhy : "runs on a loopback mesh only";
                return null;
            }
            case "loopback" -> {
                if (canLoop) {
                    return Target.LOOPBACK;
                }
                why[0] = "needs " + Target.LAB.needs();
                return null;
            }
            default -> {
                if (canLab) {
                    return Target.LAB;
                }
                if (canLoop) {
                    return Target.LOOPBACK;
                }
                why[0] = "needs " + Target.LAB.needs() + ": " + labWhy;
                return null;
            }
        }
    }

    /** Runs {@code scenarios} in order, then their controls, and writes the report. */
    public SuiteReport run(List<Scenario> scenarios) throws Exception {
        long started = System.currentTimeMillis();
        String labWhy = options.lab() != null ? null : labUnavailable();
        List<ScenarioResult> results = new ArrayList<>();
        List<Scenario> controls = new ArrayList<>();
        // Interrupted (SIGTERM, Ctrl-C), the run still takes down the nodes, backends and namespaces it started.
        Thread hook = new Thread(() -> {
            closeClusters();
            // and whatever a cluster still being built had started (only this process's own descendants)
            ProcessHandle.current().descendants().forEach(ProcessHandle::destroy);
        }, "l4mesh-chaos-cleanup");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            for (Scenario s : scenarios) {
                String[] why = new String[1];
                Target t = targetFor(s, labWhy, why);
                if (t == null) {
                    out.printf("%n== %s: skipped (%s)%n", s.name(), why[0]);
                    results.add(ScenarioResult.skipped(s.name(), s.summary(), "-", why[0]));
                    continue;
                }
                ScenarioResult r = runOne(s, t, false);
                results.add(r);
                if (t == Target.LAB && Catalogue.hasControl(s) && !r.verdict().equals("skipped")) {
                    controls.add(s);
                }
            }
            for (Scenario s : controls) {
                if (lab != null && !lab.owned()) {
                    results.add(ScenarioResult.skipped(s.name() + " (without flow sync)", s.summary(), "lab",
                        "the suite rebuilds only a lab it built itself; this one was given with --lab"));
                    continue;
                }
                results.add(runOne(s, Target.LAB, true));
            }
        } finally {
            closeClusters();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running or has run: the clusters are closed either way
            }
        }
        boolean pass = results.stream().allMatch(x -> x.passed() || x.verdict().equals("skipped"))
            && results.stream().anyMatch(ScenarioResult::passed);
        return new SuiteReport(started, options.seed(), machine(), pass ? "pass" : "fail", results);
    }

    private ScenarioResult runOne(Scenario s, Target t, boolean control) {
        String name = control ? s.name() + " (without flow sync)" : s.name();
        out.printf("%n== %s on the %s: %s%n", name, t.name().toLowerCase(), s.summary());
        out.flush();
        Cluster c;
        try {
            c = cluster(t, !control);
        } catch (Exception e) {
            out.printf("  %-16s could not set up the %s: %s%n", name, t.name().toLowerCase(), oneLine(e));
            return new ScenarioResult(name, s.summary(), t.name().toLowerCase(), "fail", "could not set up the "
                + t.name().toLowerCase() + ": " + oneLine(e), System.currentTimeMillis(), 0, List.of(), List.of(),
                Map.of(), List.of(), List.of(), null);
        }
        String why = control ? null : s.unsupported(c);
        if (why != null) {
            out.printf("  %-16s skipped: %s%n", name, why);
            return ScenarioResult.skipped(name, s.summary(), t.name().toLowerCase(), why);
        }
        return Scenarios.run(s, c, options.seed(), out, control, logs -> {
            Path into = options.report().resolve("logs").resolve(name.replaceAll("[^A-Za-z0-9_.-]+", "-"));
            c.keepLogs(into);
            return into;
        });
    }

    /** The cluster for target {@code t}, at its baseline: built on first use, rebuilt when it cannot be restored. */
    private Cluster cluster(Target t, boolean sync) throws Exception {
        if (t == Target.LOOPBACK) {
            if (loopback == null) {
                // backend faults through Toxiproxy: a given server, or one Testcontainers starts where Docker runs
                if (options.toxiproxy() != null || ToxiproxyDriver.dockerUnavailable() == null) {
                    ToxiproxyDriver.Connection tc = ToxiproxyDriver.connect(options.toxiproxy());
                    toxiproxy = tc.driver();
                    out.println("  toxiproxy: " + (toxiproxy != null ? toxiproxy.where()
                        : tc.unavailable() + "; backend faults use netcrusher"));
                }
                out.println("  setting up a loopback mesh (3 nodes, 4 backends) ...");
                loopback = LoopbackCluster.start(Files.createTempDirectory("l4mesh-chaos-loopback"), toxiproxy);
                warmUp(loopback);
            } else {
                loopback.restore();
            }
            return loopback;
        }
        if (lab != null && lab.owned() && lab.flowSync() != sync) {
            out.println("  removing the lab to build it " + (sync ? "with" : "without") + " flow sync ...");
            lab.close();
            lab = null;
        }
        if (lab == null) {
            if (options.lab() != null) {
                lab = LabCluster.attach(options.lab());
                lab.restore();
            } else {
                out.println("  building the lab (3 nodes + 1 spare, 6 backends, flow sync " + (sync ? "on" : "off")
                    + ") ...");
                lab = LabCluster.build(Files.createTempDirectory("l4mesh-chaos-lab"), sync);
                warmUp(lab);
            }
            return lab;
        }
        try {
            lab.restore();
        } catch (Exception e) {
            if (!lab.owned()) {
                throw e;
            }
            out.println("  the lab could not be restored (" + oneLine(e) + "): rebuilding it ...");
            lab.close();
            lab = LabCluster.build(Files.createTempDirectory("l4mesh-chaos-lab"), sync);
        }
        return lab;
    }

    /**
     * Runs the standard traffic through a new cluster for a few seconds: every JVM involved (nodes, backends, this
     * one, which also hosts the in-path proxies) compiles its hot paths before the first scenario measures them.
     */
    private void warmUp(Cluster c) throws Exception {
        out.println("  warming up: " + WARM_UP_MS / 1000 + " s of traffic ...");
        try (io.l4mesh.chaos.traffic.Traffic t = io.l4mesh.chaos.traffic.Traffic.start(c.clients(),
            io.l4mesh.chaos.traffic.Traffic.Spec.standard(), options.seed(), new io.l4mesh.chaos.traffic.RunClock())) {
            Thread.sleep(WARM_UP_MS);
            t.stop();
        }
        c.restore();
    }

    static final long WARM_UP_MS = 6000;

    /** Closes what the run built, once, whichever thread gets here first. */
    private void closeClusters() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        for (AutoCloseable c : new AutoCloseable[] {lab, loopback, toxiproxy}) {
            if (c != null) {
                try {
                    c.close();
                } catch (Exception e) {
                    out.println("  cleanup: " + oneLine(e));
                }
            }
        }
    }

    static String machine() {
        String kernel;
        try {
            kernel = Files.readString(Path.of("/proc/sys/kernel/osrelease")).strip();
        } catch (Exception e) {
            kernel = System.getProperty("os.version");
        }
        return Runtime.getRuntime().availableProcessors() + " cores, " + System.getProperty("os.name") + " " + kernel
            + ", JDK " + System.getProperty("java.version");
    }

    static String oneLine(Throwable e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }

    /** The summary table printed at the end of a run. */
    static String summary(SuiteReport r) {
        StringBuilder b = new StringBuilder();
        String fmt = "%-42s %-9s %-8s %-10s %-11s %-12s %s%n";
        b.append(String.format(fmt, "SCENARIO", "TARGET", "VERDICT", "BROKEN", "STALL", "WITHDRAWAL", "NOTES"));
        for (ScenarioResult s : r.scenarios()) {
            String broken = find(s, "established connections unbroken");
            String stall = find(s, "longest stall");
            Object w = s.figures().get("fault to withdrawal (ms)");
            String notes = s.reason() == null ? "" : s.reason();
            b.append(String.format(fmt, s.name(), s.target(), s.verdict(), broken, stall, w == null ? "-" : w + " ms",
                notes.length() > 70 ? notes.substring(0, 69) + "..." : notes));
        }
        b.append(String.format("%nverdict: %s (%d passed, %d failed, %d skipped)%n", r.verdict(),
            r.scenarios().stream().filter(ScenarioResult::passed).count(),
            r.scenarios().stream().filter(x -> x.verdict().equals("fail")).count(),
            r.scenarios().stream().filter(x -> x.verdict().equals("skipped")).count()));
        return b.toString();
    }

    private static String find(ScenarioResult s, String invariant) {
        for (Invariant i : s.invariants()) {
            if (i.name().equals(invariant)) {
                return i.name().startsWith("established") ? (long) i.value() + " " + i.unit() : i.measured();
            }
        }
        return "-";
    }
}
