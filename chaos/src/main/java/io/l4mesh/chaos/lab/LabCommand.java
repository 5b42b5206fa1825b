package io.l4mesh.chaos.lab;

import io.l4mesh.node.cli.L4meshCli;
import io.l4mesh.node.cli.PrometheusSidecar;
import io.l4mesh.node.cli.Table;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code l4mesh lab up|down|status}: packet mode behind a BGP/ECMP router, in network namespaces (root, Linux). Each
 * subcommand has its own options and help ({@code l4mesh lab up --help}).
 */
@Command(name = "l4mesh lab", mixinStandardHelpOptions = true,
    description = {"A packet-mode lab in network namespaces (root, Linux, BIRD 2): clients, a router with BGP",
        "multipath (ECMP), l4mesh nodes announcing the VIP while they serve, backends answering clients directly."},
    subcommands = {LabCommand.Up.class, LabCommand.Down.class, LabCommand.Status.class, LabCommand.ForwardAdmin.class})
public final class LabCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    /** The launcher hands {@code l4mesh lab ...} here (the product's CLI does not carry it). */
    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line (also used by tests). */
    public static picocli.CommandLine commandLine() {
        picocli.CommandLine cl = new picocli.CommandLine(new LabCommand());
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            cmd.getErr().println("l4mesh lab: " + (ex.getMessage() == null ? ex.toString() : ex.getMessage()));
            return L4meshCli.EXIT_FAILURE;
        });
        return cl;
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** The lab's directory, shared by every subcommand. */
    static final class DirOption {
        @Option(names = "--dir", defaultValue = "/tmp/l4mesh-lab", description = "State, configs and logs "
            + "(default /tmp/l4mesh-lab).")
        Path dir;
    }

    private static String launcher() {
        String l = System.getProperty("l4mesh.launcher", "l4mesh");
        return l.equals(System.getProperty("user.dir") + "/l4mesh") ? "./l4mesh" : l;
    }

    @Command(name = "up", mixinStandardHelpOptions = true,
        description = {"Build the lab (idempotent: a lab of the same shape is kept, another one is replaced).",
            "Prints the namespaces, the processes and what to try."})
    static final class Up implements Callable<Integer> {
        @Option(names = "--nodes", defaultValue = "2", description = "l4mesh nodes started (default 2).")
        int nodes;

        @Option(names = "--spare-nodes", defaultValue = "0",
            description = "Nodes built but not started, in every node's seeds (default 0): 'start' them to scale out.")
        int spareNodes;

        @Option(names = "--backends", defaultValue = "2", description = "Backends (default 2).")
        int backends;

        @Option(names = "--clients", defaultValue = "1", description = "Clients (default 1).")
        int clients;

        @Option(names = "--pool-backends", defaultValue = "0",
            description = "Backends in the pool at start (default: all); the rest run, ready for 'l4mesh backend add'.")
        int poolBackends;

        @Option(names = "--sync", defaultValue = "on", description = "Flow-table sync between the nodes: on or off.")
        String sync;

        @Option(names = "--fault-injection",
            description = "Open the nodes' fault seams (/fault/*) for the chaos suite.")
        boolean faultInjection;

        @Option(names = "--prometheus", description = "Also start Prometheus (Debian package prometheus) on the host, "
            + "scraping every started node with the shipped rules; each node's admin API is relayed to the host.")
        boolean prometheus;

        @Option(names = "--prometheus-port", defaultValue = "" + PrometheusSidecar.DEFAULT_PORT,
            description = "Prometheus' port on 127.0.0.1 with --prometheus (default ${DEFAULT-VALUE}).")
        int prometheusPort;

        @Option(names = "--admin-base-port", defaultValue = "" + DEFAULT_ADMIN_BASE,
            description = "With --prometheus, node i's admin API is 127.0.0.1:(this + i) on the host "
                + "(default ${DEFAULT-VALUE}: node-1 on " + (DEFAULT_ADMIN_BASE + 1) + ").")
        int adminBase;

        @Mixin
        DirOption dir;

        @Override
        public Integer call() throws Exception {
            Lab.Options o;
            try {
                if (!sync.equals("on") && !sync.equals("off")) {
                    throw new IllegalArgumentException("--sync is on or off");
                }
                o = new Lab.Options(nodes, backends, clients, poolBackends == 0 ? backends : poolBackends,
                    sync.equals("on"), spareNodes, faultInjection);
            } catch (IllegalArgumentException e) {
                System.err.println("l4mesh lab up: " + e.getMessage());
                return L4meshCli.EXIT_USAGE;
            }
            PrometheusSidecar sidecar = null;
            if (prometheus) {
                try {
                    sidecar = PrometheusSidecar.find("--prometheus");
                } catch (IllegalStateException e) {
                    System.err.println("l4mesh lab up: " + e.getMessage());
                    return L4meshCli.EXIT_FAILURE;
                }
            }
            Lab lab = new Lab(dir.dir);
            Lab.State s = lab.up(o, Lab.selfCommand());
            String monitoring = "";
            if (sidecar != null) {
                monitoring = monitor(lab, s, sidecar, prometheusPort, adminBase);
                if (monitoring == null) {
                    return L4meshCli.EXIT_FAILURE;
                }
            }
            System.out.print(guide(lab, lab.state()));
            System.out.print(monitoring);
            return 0;
        }
    }

    /** Where the admin relay puts node 1 by default: 9191 (node i on 9190 + i). */
    static final int DEFAULT_ADMIN_BASE = 9190;

    /**
     * Starts (unless running) the admin relay and Prometheus on the host for {@code lab up --prometheus}; returns the
     * lines to print, or null after saying on stderr what did not start.
     */
    static String monitor(Lab lab, Lab.State s, PrometheusSidecar sidecar, int port, int adminBase) throws Exception {
        if (!lab.alive("admin-relay")) {
            lab.startOnHost("admin-relay", Lab.labCommand(List.of("forward-admin", "--dir", lab.dir().toString(),
                "--base-port", Integer.toString(adminBase))));
        }
        List<String> targets = new ArrayList<>();
        for (int i = 1; i <= s.nodes(); i++) {
            targets.add("127.0.0.1:" + (adminBase + i));
        }
        if (!await(lab, "admin-relay", adminBase + 1)) {
            System.err.println("l4mesh lab up: the admin relay did not start; its log: " + lab.dir().resolve(
                "admin-relay.log") + " (ports in use? see --admin-base-port)");
            return null;
        }
        if (!lab.alive("prometheus")) {
            lab.startOnHost("prometheus", sidecar.prepare(lab.dir(), targets, port));
        }
        if (!await(lab, "prometheus", port)) {
            System.err.println("l4mesh lab up: Prometheus did not start; its log: " + lab.dir().resolve(
                "prometheus.log") + " (port in use? see --prometheus-port)");
            return null;
        }
        StringBuilder b = new StringBuilder("\n  ").append(sidecar.guide(port)).append('\n');
        b.append("  Each node's admin API on the host: ");
        for (int i = 1; i <= s.allNodes(); i++) {
            b.append(i == 1 ? "" : ", ").append("node-").append(i).append(" 127.0.0.1:").append(adminBase + i);
        }
        b.append(String.format("%n    %s status --admin 127.0.0.1:%d   # no 'ip netns exec' needed%n", launcher(),
            adminBase + 1));
        if (s.spareNodes() > 0) {
            b.append("  Spare nodes are relayed but not scraped: add their address to ").append(lab.dir()
                .resolve("prometheus.yml")).append(" when you start one.\n");
        }
        return b.toString();
    }

    private static boolean await(Lab lab, String process, int port) throws Exception {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline && lab.alive(process)) {
            if (PrometheusSidecar.listening(port)) {
                return true;
            }
            Thread.sleep(100);
        }
        return false;
    }

    @Command(name = "forward-admin", hidden = true, mixinStandardHelpOptions = true,
        description = "Relay 127.0.0.1:(base + i) on the host to node i's admin API in its namespace, until stopped "
            + "('lab up --prometheus' starts it, 'lab down' stops it).")
    static final class ForwardAdmin implements Callable<Integer> {
        @Option(names = "--base-port", defaultValue = "" + DEFAULT_ADMIN_BASE, description = "Node i on this + i.")
        int base;

        @Mixin
        DirOption dir;

        @Override
        public Integer call() throws Exception {
            Lab.State s = new Lab(dir.dir).state();
            if (s == null) {
                System.err.println("l4mesh lab forward-admin: no lab in " + dir.dir);
                return L4meshCli.EXIT_FAILURE;
            }
            List<Integer> nodes = java.util.stream.IntStream.rangeClosed(1, s.allNodes()).boxed().toList();
            try (AdminForwarder relay = new AdminForwarder(nodes, base)) {
                System.out.println("l4mesh lab: relaying the admin APIs of nodes 1-" + s.allNodes() + " to 127.0.0.1:"
                    + (base + 1) + "-" + (base + s.allNodes()));
                new java.util.concurrent.CountDownLatch(1).await();   // until SIGTERM ('lab down')
            }
            return 0;
        }
    }

    /** What {@code lab up} prints: the lab's shape, its namespaces and processes, and what to try. */
    static String guide(Lab lab, Lab.State s) {
        String l = launcher();
        StringBuilder b = new StringBuilder();
        b.append(String.format("l4mesh lab: %d nodes (one mesh, flow sync %s%s), %d backends (%d in pool %s), "
                + "%d clients; state, configs and logs in %s%n", s.nodes(), s.sync() ? "on" : "off",
            s.spareNodes() > 0 ? ", " + s.spareNodes() + " spare" : "", s.backends(), s.poolBackends(), Lab.POOL,
            s.clients(), lab.dir()));
        b.append(String.format("  VIPs: %s:%d (TCP), %s:%d (UDP), [%s]:%d (TCP over IPv6)%n", Lab.VIP, Lab.PORT,
            Lab.UDP_VIP, Lab.UDP_PORT, Lab.VIP6, Lab.PORT));
        b.append("  namespaces: ").append(String.join(" ", s.namespaces())).append('\n');
        Table t = new Table("PROCESS", "PID", "NAMESPACE");
        s.processes().forEach((name, pid) -> t.row(name, Long.toString(pid), namespaceOf(name)));
        java.io.StringWriter sw = new java.io.StringWriter();
        java.io.PrintWriter pw = new java.io.PrintWriter(sw);
        t.print(pw, "  ");
        pw.flush();
        b.append(sw);
        b.append("\n  Try (as root):\n");
        b.append(String.format("    ip netns exec %s %s probe %s:%d --count 20%n", Lab.clientNamespace(1), l,
            Lab.VIP, Lab.PORT));
        b.append(String.format("    ip -n %s route show %s        # one next hop per serving node%n",
            Lab.routerNamespace(), Lab.VIP));
        b.append(String.format("    ip netns exec %s %s members   # each node's admin API is 127.0.0.1:%d in its"
            + " namespace%n", Lab.nodeNamespace(1), l, Lab.ADMIN_PORT));
        for (int j = s.poolBackends() + 1; j <= s.backends(); j++) {
            b.append(String.format("    ip netns exec %s %s backend add %s %s   # backend-%d joins the pool (every "
                + "node)%n", Lab.nodeNamespace(1), l, Lab.POOL, Lab.backendId(j), j));
        }
        b.append(String.format("    kill %d                      # node-1 (SIGTERM): its route is withdrawn at once%n",
            s.processes().getOrDefault("node-1", -1L)));
        b.append(String.format("    %s lab down%s%n", l, lab.dir().toString().equals("/tmp/l4mesh-lab") ? ""
            : " --dir " + lab.dir()));
        return b.toString();
    }

    private static String namespaceOf(String process) {
        String[] p = process.split("-");
        String n = p.length > 1 ? p[p.length - 1] : "";
        if (process.equals("prometheus") || process.equals("admin-relay")) {
            return "(host)";
        }
        if (process.equals("bird-r")) {
            return Lab.routerNamespace();
        }
        if (process.startsWith("bird-n")) {
            return Lab.nodeNamespace(Integer.parseInt(process.substring(6)));
        }
        if (process.startsWith("node-") || process.startsWith("announce-")) {
            return Lab.nodeNamespace(Integer.parseInt(n));
        }
        if (process.startsWith("backend-") || process.startsWith("decap-")) {
            return Lab.backendNamespace(Integer.parseInt(n));
        }
        return "";
    }

    @Command(name = "down", mixinStandardHelpOptions = true,
        description = "Remove what the lab made: its processes by PID, its namespaces by name.")
    static final class Down implements Callable<Integer> {
        @Mixin
        DirOption dir;

        @Override
        public Integer call() throws Exception {
            new Lab(dir.dir).down();
            System.out.println("l4mesh lab: removed");
            return 0;
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true,
        description = "What the lab has: namespaces, processes (running or gone), the router's next hops for the VIP.")
    static final class Status implements Callable<Integer> {
        @Mixin
        DirOption dir;

        @Override
        public Integer call() throws Exception {
            Lab lab = new Lab(dir.dir);
            Lab.State s = lab.state();
            if (s == null) {
                System.out.println("l4mesh lab: none (state file " + lab.stateFile() + ")");
                return 0;
            }
            System.out.println("namespaces: " + s.namespaces());
            s.processes().forEach((k, v) -> System.out.printf("  %-12s pid %-8d %s%n", k, v,
                ProcessHandle.of(v).map(ProcessHandle::isAlive).orElse(false) ? "running" : "gone"));
            System.out.println("router's next hops for the VIP: " + lab.vipNextHops());
            return 0;
        }
    }
}
