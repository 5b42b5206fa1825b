package io.l4mesh.node.cli;

import io.l4mesh.node.Node;
import io.l4mesh.node.config.ConfigException;
import io.l4mesh.node.config.ConfigLoader;
import io.l4mesh.node.log.Log;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.logging.Level;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import sun.misc.Signal;

/**
 * {@code l4mesh demo}: one node on loopback in front of three demo backends of its own, TCP and UDP, and what to
 * try. Ctrl-C stops everything it started.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Run a node on loopback with three demo backends and print what to try. Ctrl-C stops it all.")
public final class DemoCommand implements Callable<Integer> {
    @Option(names = "--port", defaultValue = "7000", description = "Listener port, TCP and UDP (default 7000).")
    int port;

    @Option(names = "--backend-port", defaultValue = "7101",
        description = "First demo backend port; the three use this and the next two (default 7101).")
    int backendPort;

    @Option(names = "--admin-port", defaultValue = "9090", description = "Admin API port (default 9090).")
    int adminPort;

    @Option(names = "--log-level", defaultValue = "info", description = "debug, info or warn.")
    String logLevel;

    @Override
    public Integer call() throws Exception {
        Log.setup(RunCommand.level(logLevel));
        List<DemoBackend> backends = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                backends.add(new DemoBackend("backend-" + (i + 1), new InetSocketAddress("127.0.0.1", backendPort + i)));
            }
        } catch (java.io.IOException e) {
            System.err.println("l4mesh demo: cannot bind demo backends on 127.0.0.1:" + backendPort + "-"
                + (backendPort + 2) + ": " + e.getMessage() + " (try --backend-port)");
            closeAll(backends);
            return L4meshCli.EXIT_FAILURE;
        }
        Path dir = Files.createTempDirectory("l4mesh-demo");
        Path file = dir.resolve("l4mesh.yaml");
        Files.writeString(file, config());
        Node node;
        try {
            node = Node.start(ConfigLoader.load(file));
        } catch (ConfigException e) {
            System.err.println(e.getMessage());
            closeAll(backends);
            return L4meshCli.EXIT_USAGE;
        } catch (Exception e) {
            System.err.println("l4mesh demo: cannot start: " + e.getMessage() + " (try --port / --admin-port)");
            closeAll(backends);
            return L4meshCli.EXIT_FAILURE;
        }
        printGuide(file);
        CountDownLatch stop = new CountDownLatch(1);
        Signal.handle(new Signal("INT"), s -> stop.countDown());
        Signal.handle(new Signal("TERM"), s -> stop.countDown());
        Signal.handle(new Signal("HUP"), s -> Thread.ofPlatform().start(() -> RunCommand.reload(node)));
        stop.await();
        System.out.println("\nl4mesh demo: stopping");
        node.drainAndClose(java.time.Duration.ofSeconds(2));
        closeAll(backends);
        Files.deleteIfExists(file);
        Files.deleteIfExists(dir);
        return 0;
    }

    private String config() {
        StringBuilder b = new StringBuilder();
        b.append("node:\n  id: demo-1\n");
        b.append("admin:\n  bind: 127.0.0.1:").append(adminPort).append('\n');
        b.append("runtime:\n  shutdownGrace: 5s\n");
        b.append("listeners:\n");
        b.append("  - {name: tcp-demo, bind: 127.0.0.1:").append(port).append(", protocol: tcp, pool: demo}\n");
        b.append("  - {name: udp-demo, bind: 127.0.0.1:").append(port).append(", protocol: udp, pool: demo}\n");
        b.append("pools:\n  demo:\n    healthCheck: {interval: 1s, timeout: 500ms, rise: 2, fall: 2}\n");
        b.append("    backends:\n");
        for (int i = 0; i < 3; i++) {
            b.append("      - 127.0.0.1:").append(backendPort + i).append('\n');
        }
        return b.toString();
    }

    private void printGuide(Path file) {
        String l = System.getProperty("l4mesh.launcher", "l4mesh");
        String admin = adminPort == 9090 ? "" : " --admin 127.0.0.1:" + adminPort;
        String b1 = "127.0.0.1:" + backendPort;
        System.out.printf("""

            l4mesh demo: one node on loopback, Maglev over three demo backends (%s..%d).
              TCP and UDP listeners on 127.0.0.1:%d; admin API on http://127.0.0.1:%d; config %s

            Try, in another terminal:
              %s probe 127.0.0.1:%d --count 30          # 30 TCP connections: see them spread
              %s probe 127.0.0.1:%d --count 30 --udp    # the same over UDP
              %s status%s                               # listeners, pools, backends, Maglev slots
              %s lookup tcp-demo 198.18.0.7:40000%s      # where would this flow go?
              %s backend drain demo %s%s         # no new flows to backend-1
              %s backend weight demo %s 3%s      # backend-1 takes 3x the flows
              curl -s 127.0.0.1:%d/metrics | grep l4mesh_
            Edit the config file and run '%s reload%s' (or send SIGHUP) to apply it.
            Ctrl-C stops the node and the demo backends.
            """, b1, backendPort + 2, port, adminPort, file, l, port, l, port, l, admin, l, admin, l, b1, admin,
            l, b1, admin, adminPort, l, admin);
        System.out.flush();
    }

    private static void closeAll(List<DemoBackend> backends) {
        for (DemoBackend b : backends) {
            try {
                b.close();
            } catch (java.io.IOException ignored) {
                // Closing a demo socket cannot fail in a way worth reporting.
            }
        }
    }
}
