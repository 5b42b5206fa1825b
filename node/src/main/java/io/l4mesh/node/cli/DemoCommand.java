package io.l4mesh.node.cli;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import sun.misc.Signal;

/**
 * {@code l4mesh demo}: a mesh of three l4mesh nodes on loopback, each its own process, in front of three demo
 * backends (also processes, so one can be killed), and what to try. Ctrl-C stops everything it started.
 *
 * <p>Nodes listen on 127.0.0.11, .12 and .13 (same port), as nodes behind a router would; where those addresses
 * cannot be bound (macOS has only 127.0.0.1 by default) they share 127.0.0.1 on consecutive ports.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Run a 3-node mesh on loopback with three demo backends, and print what to try. Ctrl-C stops it all.")
public final class DemoCommand implements Callable<Integer> {
    @Option(names = "--nodes", defaultValue = "3", description = "Nodes in the mesh, 1 to 5 (default 3).")
    int nodes;

    @Option(names = "--port", defaultValue = "7000", description = "Listener port, TCP and UDP (default 7000).")
    int port;

    @Option(names = "--backend-port", defaultValue = "7101", description = "First demo backend port (default 7101).")
    int backendPort;

    @Option(names = "--admin-port", defaultValue = "9090", description = "First node's admin port (default 9090).")
    int adminPort;

    @Option(names = "--gossip-port", defaultValue = "7946", description = "First node's gossip port (default 7946).")
    int gossipPort;

    @Option(names = "--prometheus", description = "Also start Prometheus (Debian package prometheus) scraping the "
        + "nodes, with the shipped alert rules (dashboards/l4mesh-alerts.yml).")
    boolean prometheus;

    @Option(names = "--prometheus-port", defaultValue = "9099",
        description = "Prometheus' port with --prometheus (default 9099; its own default, 9090, is node-1's admin).")
    int prometheusPort;

    private final List<Process> children = new ArrayList<>();
    private PrometheusSidecar sidecar;

    @Override
    public Integer call() throws Exception {
        if (nodes < 1 || nodes > 5) {
            System.err.println("l4mesh demo: --nodes must be 1 to 5");
            return L4meshCli.EXIT_USAGE;
        }
        if (prometheus) {
            try {
                sidecar = PrometheusSidecar.find("--prometheus");
            } catch (IllegalStateException e) {
                System.err.println("l4mesh demo: " + e.getMessage());
                return L4meshCli.EXIT_FAILURE;
            }
        }
        Path dir = Files.createTempDirectory("l4mesh-demo");
        boolean aliases = canBind("127.0.0.11") && canBind("127.0.0.12") && canBind("127.0.0." + (10 + nodes));
        CountDownLatch stop = new CountDownLatch(1);
        Signal.handle(new Signal("INT"), s -> stop.countDown());
        Signal.handle(new Signal("TERM"), s -> stop.countDown());
        try {
            Path key = dir.resolve("cluster.key");
            byte[] secret = new byte[32];
            new SecureRandom().nextBytes(secret);
            Files.writeString(key, HexFormat.of().formatHex(secret));
            Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
            for (int i = 0; i < 3; i++) {
                children.add(spawn(dir, "backend-" + (i + 1), List.of("demo-backend", "--name", "backend-" + (i + 1),
                    "--bind", "127.0.0.1:" + (backendPort + i))));
            }
            for (int i = 0; i < nodes; i++) {
                Path cfg = dir.resolve("node-" + (i + 1) + ".yaml");
                Files.writeString(cfg, config(i, aliases, key));
                children.add(spawn(dir, "node-" + (i + 1), List.of("run", "--config", cfg.toString())));
            }
            for (int i = 0; i < nodes; i++) {
                if (!awaitPort("127.0.0.1", adminPort + i, 60, stop)) {
                    System.err.println("l4mesh demo: node-" + (i + 1) + " did not start; its log: "
                        + dir.resolve("node-" + (i + 1) + ".log") + " (ports in use? see --port, --admin-port, "
                        + "--gossip-port, --backend-port)");
                    return L4meshCli.EXIT_FAILURE;
                }
            }
            if (prometheus) {
                List<String> targets = new ArrayList<>();
                for (int i = 0; i < nodes; i++) {
                    targets.add("127.0.0.1:" + (adminPort + i));
                }
                Process prom = new ProcessBuilder(sidecar.prepare(dir, targets, prometheusPort))
                    .redirectErrorStream(true).redirectOutput(dir.resolve("prometheus.log").toFile()).start();
                children.add(prom);
                if (!awaitPort("127.0.0.1", prometheusPort, 30, stop)) {
                    System.err.println("l4mesh demo: Prometheus did not start; its log: "
                        + dir.resolve("prometheus.log") + " (port in use? see --prometheus-port)");
                    return L4meshCli.EXIT_FAILURE;
                }
            }
            printGuide(dir, aliases);
            if (prometheus) {
                System.out.println(sidecar.guide(prometheusPort));
            }
            stop.await();
            System.out.println("\nl4mesh demo: stopping " + children.size() + " processes");
            return 0;
        } finally {
            stopAll();
            try (var walk = Files.walk(dir)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private String nodeHost(int i, boolean aliases) {
        return aliases ? "127.0.0." + (11 + i) : "127.0.0.1";
    }

    private int nodePort(int i, boolean aliases) {
        return aliases ? port : port + i;
    }

    private String config(int i, boolean aliases, Path key) {
        StringBuilder seeds = new StringBuilder();
        for (int j = 0; j < nodes; j++) {
            if (j != i) {
                seeds.append(seeds.isEmpty() ? "" : ", ").append("127.0.0.1:").append(gossipPort + j);
            }
        }
        String bind = nodeHost(i, aliases) + ":" + nodePort(i, aliases);
        return """
            node: {id: node-%d}
            admin: {bind: 127.0.0.1:%d}
            runtime: {shutdownGrace: 3s}
            listeners:
              - {name: tcp-demo, bind: "%s", protocol: tcp, pool: demo}
              - {name: udp-demo, bind: "%s", protocol: udp, pool: demo}
            pools:
              demo:
                healthCheck: {interval: 1s, timeout: 500ms, rise: 2, fall: 2}
                backends: [127.0.0.1:%d, 127.0.0.1:%d, 127.0.0.1:%d]
            membership:
              bind: 127.0.0.1:%d
              seeds: [%s]
              keyFile: %s
            """.formatted(i + 1, adminPort + i, bind, bind, backendPort, backendPort + 1, backendPort + 2,
            gossipPort + i, seeds, key);
    }

    private Process spawn(Path dir, String name, List<String> args) throws IOException {
        List<String> cmd = L4meshCli.childCommand(name.startsWith("backend") ? List.of("-Xmx64m") : List.of(), args);
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve(name + ".log").toFile())
            .start();
    }

    private static boolean canBind(String host) {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(InetAddress.getByName(host), 0));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private boolean awaitPort(String host, int p, int seconds, CountDownLatch stop) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline && stop.getCount() > 0) {
            if (children.stream().anyMatch(c -> !c.isAlive())) {
                return false;
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(host, p), 300);
                return true;
            } catch (IOException e) {
                Thread.sleep(100);
            }
        }
        return false;
    }

    private void stopAll() {
        for (Process p : children) {
            p.destroy();   // SIGTERM: nodes drain and leave the mesh
        }
        for (Process p : children) {
            try {
                if (!p.waitFor(10, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
            }
        }
    }

    private void printGuide(Path dir, boolean aliases) {
        String l = System.getProperty("l4mesh.launcher", "l4mesh");
        String cwd = System.getProperty("user.dir") + "/l4mesh";
        if (l.equals(cwd)) {
            l = "./l4mesh";
        }
        StringBuilder b = new StringBuilder();
        b.append("\nl4mesh demo: a mesh of ").append(nodes).append(" nodes on loopback, one Maglev table over three ")
            .append("demo backends.\n\n");
        Table t = new Table("NODE", "PID", "TCP+UDP LISTENER", "ADMIN", "GOSSIP");
        for (int i = 0; i < nodes; i++) {
            t.row("node-" + (i + 1), Long.toString(children.get(3 + i).pid()),
                nodeHost(i, aliases) + ":" + nodePort(i, aliases), "127.0.0.1:" + (adminPort + i),
                "127.0.0.1:" + (gossipPort + i));
        }
        Table bt = new Table("BACKEND", "PID", "ADDRESS");
        for (int i = 0; i < 3; i++) {
            bt.row("backend-" + (i + 1), Long.toString(children.get(i).pid()), "127.0.0.1:" + (backendPort + i));
        }
        java.io.StringWriter sw = new java.io.StringWriter();
        java.io.PrintWriter pw = new java.io.PrintWriter(sw);
        t.print(pw, "  ");
        pw.println();
        bt.print(pw, "  ");
        pw.flush();
        b.append(sw);
        String n1 = nodeHost(0, aliases) + ":" + nodePort(0, aliases);
        String n2 = nodeHost(Math.min(1, nodes - 1), aliases) + ":" + nodePort(Math.min(1, nodes - 1), aliases);
        b.append("""

            Try, in another terminal:
              %1$s probe %2$s --count 30        # 30 connections through node-1: see them spread
              %1$s probe %3$s --count 30        # the same flows' backends are chosen alike on node-2
              %1$s members                            # the mesh as node-1 sees it, fingerprints per node
              %1$s status --cluster --admin 127.0.0.1:%5$d
              %1$s backend weight demo 127.0.0.1:%4$d 3   # change the pool on node-1 ...
              %1$s status --admin 127.0.0.1:%5$d            # ... and see it on node-2 (same fingerprint)
              kill -9 %6$d                          # kill backend-1: every node marks it down in ~2 s
              kill -9 %7$d                          # kill node-%8$d: the others drop it in ~2 s
            Logs and configs: %9$s
            Ctrl-C stops every node and backend.
            """.formatted(l, n1, n2, backendPort, adminPort + Math.min(1, nodes - 1), children.get(0).pid(),
            children.get(3 + nodes - 1).pid(), nodes, dir));
        System.out.print(b);
        System.out.flush();
    }
}
