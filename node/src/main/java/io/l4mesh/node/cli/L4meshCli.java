package io.l4mesh.node.cli;

import io.l4mesh.node.Node;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the {@code l4mesh} command. */
@Command(name = "l4mesh", mixinStandardHelpOptions = true, version = "l4mesh " + Node.VERSION,
    description = "A distributed Layer-4 load balancer: Maglev hashing, TCP/UDP proxy.",
    footer = {"", "Run from outside the node (the chaos module; the ./l4mesh launcher hands them there):",
        "  chaos list|run     the chaos suite",
        "  lab up|down|status the packet-mode lab (root, network namespaces, BIRD 2)",
        "  bench proxy|packet|flowtable|sync|maglev   benchmarks that print figures"},
    subcommands = {RunCommand.class, CheckCommand.class, StatusCommand.class, MembersCommand.class, BackendCommand.class,
        ReloadCommand.class, LookupCommand.class, DemoCommand.class, DemoBackendCommand.class, ProbeCommand.class,
        DecapCommand.class, AnnounceCommand.class, CommandLine.HelpCommand.class})
public final class L4meshCli implements Runnable {
    /** Bad usage or invalid config. */
    public static final int EXIT_USAGE = 2;
    /** A failure at run time. */
    public static final int EXIT_FAILURE = 1;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line (also used by tests). */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new L4meshCli());
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            cmd.getErr().println("l4mesh: " + ex.getMessage());
            return EXIT_FAILURE;
        });
        return cl;
    }

    /** Whether an executable named {@code command} is on {@code PATH} (for tools l4mesh starts: prometheus, ...). */
    public static boolean onPath(String command) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            if (!d.isEmpty() && java.nio.file.Files.isExecutable(java.nio.file.Path.of(d, command))) {
                return true;
            }
        }
        return false;
    }

    /**
     * The command line that runs {@code l4mesh <args>} in a new JVM like this one (same Java, class path and native
     * access flag), for the demo's and the benchmark's child processes and for tests.
     */
    public static java.util.List<String> childCommand(java.util.List<String> jvmOptions, java.util.List<String> args) {
        java.util.List<String> cmd = new java.util.ArrayList<>();
        cmd.add(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.add("--sun-misc-unsafe-memory-access=allow");   // protobuf (OTLP export) reads through Unsafe
        cmd.addAll(jvmOptions);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(L4meshCli.class.getName());
        cmd.addAll(args);
        return cmd;
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
