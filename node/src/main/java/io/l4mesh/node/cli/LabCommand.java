package io.l4mesh.node.cli;

import io.l4mesh.node.lab.Lab;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code l4mesh lab up|down|status}: packet mode behind a BGP/ECMP router, in network namespaces (root, Linux). */
@Command(name = "lab", mixinStandardHelpOptions = true,
    description = {"A packet-mode lab in network namespaces (root, Linux, BIRD 2): clients, a router with BGP",
        "multipath (ECMP), l4mesh nodes announcing the VIP while they serve, backends answering clients directly.",
        "  up      build it (idempotent)    down    remove what it made    status  what is there"})
public final class LabCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "up|down|status")
    String action;

    @Option(names = "--nodes", defaultValue = "2", description = "l4mesh nodes (default 2).")
    int nodes;

    @Option(names = "--backends", defaultValue = "2", description = "Backends (default 2).")
    int backends;

    @Option(names = "--clients", defaultValue = "1", description = "Clients (default 1).")
    int clients;

    @Option(names = "--pool-backends", defaultValue = "0",
        description = "Backends in the pool at start (default: all); the rest run, ready for 'l4mesh backend add'.")
    int poolBackends;

    @Option(names = "--sync", defaultValue = "on", description = "Flow-table sync between the nodes: on or off.")
    String sync;

    @Option(names = "--dir", defaultValue = "/tmp/l4mesh-lab", description = "State, configs and logs.")
    Path dir;

    @Override
    public Integer call() throws Exception {
        Lab lab = new Lab(dir);
        switch (action) {
            case "up" -> {
                if (nodes < 1 || nodes > 8 || backends < 1 || backends > 8 || clients < 1 || clients > 8
                    || poolBackends < 0 || poolBackends > backends || !sync.equals("on") && !sync.equals("off")) {
                    System.err.println("l4mesh lab: --nodes, --backends and --clients are 1 to 8, --pool-backends 0 to"
                        + " --backends, --sync on or off");
                    return L4meshCli.EXIT_USAGE;
                }
                Lab.State s = lab.up(new Lab.Options(nodes, backends, clients,
                    poolBackends == 0 ? backends : poolBackends, sync.equals("on")), Lab.selfCommand());
                System.out.printf("""
                    l4mesh lab: %d nodes (one mesh, flow sync %s), %d backends (%d in the pool), %d clients;
                      VIP %s:%d (state in %s)
                      namespaces: %s
                      try: ip netns exec l4lab-c1 %s probe %s:%d --count 20
                           ip -n l4lab-r route show %s        # one next hop per serving node
                           kill <pid of node-1 in %s>          # its route is withdrawn at once
                    """, s.nodes(), s.sync() ? "on" : "off", s.backends(), s.poolBackends(), s.clients(), Lab.VIP,
                    Lab.PORT, dir, s.namespaces(),
                    System.getProperty("l4mesh.launcher", "l4mesh"), Lab.VIP, Lab.PORT, Lab.VIP,
                    lab.stateFile());
                return 0;
            }
            case "down" -> {
                lab.down();
                System.out.println("l4mesh lab: removed");
                return 0;
            }
            case "status" -> {
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
            default -> {
                System.err.println("l4mesh lab: up, down or status");
                return L4meshCli.EXIT_USAGE;
            }
        }
    }
}
