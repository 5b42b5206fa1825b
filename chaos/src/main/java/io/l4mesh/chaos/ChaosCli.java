package io.l4mesh.chaos;

import io.l4mesh.chaos.cluster.Target;
import io.l4mesh.chaos.report.ReportWriter;
import io.l4mesh.chaos.report.SuiteReport;
import io.l4mesh.chaos.scenario.Catalogue;
import io.l4mesh.chaos.scenario.Scenario;
import java.io.PrintStream;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code l4mesh chaos}: the chaos suite's entry point (the launcher hands {@code l4mesh chaos ...} to it).
 * Exit codes: 0 every scenario that ran held, 1 one did not, 2 bad usage.
 */
@Command(name = "l4mesh chaos", mixinStandardHelpOptions = true, version = "l4mesh chaos 0.1.0",
    description = {"The chaos suite: injects node deaths, hangs, partitions, router and backend faults into a",
        "running mesh under self-checking traffic, checks from outside that nothing is lost, and reports it."},
    subcommands = {ChaosCli.ListCommand.class, ChaosCli.RunCommand.class, CommandLine.HelpCommand.class})
public final class ChaosCli implements Runnable {
    static final int EXIT_FAILED = 1;
    static final int EXIT_USAGE = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** netcrusher logs every reset it relays as SEVERE; resets are what the suite makes happen. */
    private static final java.util.logging.Logger NETCRUSHER = java.util.logging.Logger.getLogger("org.netcrusher");

    public static void main(String[] args) {
        NETCRUSHER.setLevel(java.util.logging.Level.OFF);
        System.exit(commandLine().execute(args));
    }

    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new ChaosCli());
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            cmd.getErr().println("l4mesh chaos: " + ChaosRunner.oneLine(ex));
            return EXIT_FAILED;
        });
        return cl;
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "Every scenario: what it does and needs.")
    static final class ListCommand implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            var out = spec.commandLine().getOut();
            String labWhy = ChaosRunner.labUnavailable();
            for (Scenario s : Catalogue.all()) {
                String needs = s.targets().contains(Target.LOOPBACK) ? (s.targets().contains(Target.LAB)
                    ? "the lab, or a loopback mesh (no root)" : Target.LOOPBACK.needs()) : Target.LAB.needs();
                out.printf("%-22s %s%n%-22s   needs %s%n", s.name(), s.summary(), "", needs);
            }
            out.println();
            out.println(labWhy == null ? "This machine can run the lab: 'l4mesh chaos run' runs every scenario."
                : "The lab cannot run here (" + labWhy + "): 'l4mesh chaos run' runs the loopback scenarios and "
                    + "skips the others.");
            out.flush();
            return 0;
        }
    }

    @Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Run scenarios (all of them unless --scenario names some): build the cluster, start the",
            "traffic, inject the faults, print each step, and write report.json and report.html."})
    static final class RunCommand implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = "--scenario", paramLabel = "NAME", split = ",",
            description = "A scenario to run (repeatable, or comma-separated); see 'l4mesh chaos list'.")
        List<String> scenarios = new ArrayList<>();

        @Option(names = "--seed", description = "Makes a run reproducible: which node, which backend, which "
            + "connections (default: random, printed).")
        Long seed;

        @Option(names = "--report", defaultValue = "chaos-report", paramLabel = "DIR",
            description = "Where report.json, report.html and the logs of failed scenarios go "
                + "(default ./chaos-report).")
        Path report;

        @Option(names = "--json", description = "Print report.json on stdout (the live lines go to stderr).")
        boolean json;

        @Option(names = "--target", defaultValue = "auto", paramLabel = "auto|lab|loopback",
            description = "Where scenarios run: the lab where they can (auto, the default), only the lab, or only a "
                + "loopback mesh (no root).")
        String target;

        @Option(names = "--lab", paramLabel = "DIR",
            description = "Use the lab built in DIR ('l4mesh lab up --dir DIR --spare-nodes 1 --fault-injection') "
                + "instead of building one; it is left as it is.")
        Path lab;

        @Option(names = "--toxiproxy", paramLabel = "URL",
            description = "Backend faults on the loopback mesh through this Toxiproxy server (http://HOST:PORT, on "
                + "this host) instead of netcrusher.")
        String toxiproxy;

        @Override
        public Integer call() throws Exception {
            var err = spec.commandLine().getErr();
            if (!List.of("auto", "lab", "loopback").contains(target)) {
                err.println("l4mesh chaos run: --target is auto, lab or loopback");
                return EXIT_USAGE;
            }
            List<Scenario> chosen = new ArrayList<>();
            for (String name : scenarios) {
                Optional<Scenario> s = Catalogue.named(name);
                if (s.isEmpty()) {
                    err.println("l4mesh chaos run: no scenario named '" + name + "' (one of: " + Catalogue.all()
                        .stream().map(Scenario::name).collect(Collectors.joining(", ")) + ")");
                    return EXIT_USAGE;
                }
                chosen.add(s.get());
            }
            if (chosen.isEmpty()) {
                chosen = Catalogue.all();
            } else {
                List<String> names = chosen.stream().map(Scenario::name).toList();
                chosen = Catalogue.all().stream().filter(s -> names.contains(s.name())).toList();
            }
            long s = seed != null ? seed : new SecureRandom().nextLong() >>> 1;
            PrintStream live = json ? System.err : System.out;
            live.printf("l4mesh chaos: %d scenario(s), seed %d (rerun with --seed %d), report in %s%n",
                chosen.size(), s, s, report.toAbsolutePath());
            SuiteReport r = new ChaosRunner(new ChaosRunner.Options(s, report, target, lab, toxiproxy), live)
                .run(chosen);
            ReportWriter.write(r, report);
            live.println();
            live.print(ChaosRunner.summary(r));
            live.println("report: " + report.toAbsolutePath().resolve("report.html"));
            live.flush();
            if (json) {
                System.out.println(ReportWriter.json(r));
            }
            return r.verdict().equals("pass") ? 0 : EXIT_FAILED;
        }
    }
}
