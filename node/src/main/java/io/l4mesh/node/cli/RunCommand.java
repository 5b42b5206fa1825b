package io.l4mesh.node.cli;

import io.l4mesh.node.Node;
import io.l4mesh.node.config.ConfigException;
import io.l4mesh.node.config.ConfigLoader;
import io.l4mesh.node.config.NodeConfig;
import io.l4mesh.node.log.Log;
import io.netty.util.ResourceLeakDetector;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.logging.Level;
import java.util.logging.Logger;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import sun.misc.Signal;

/** {@code l4mesh run --config FILE}: runs a node until SIGTERM/SIGINT; SIGHUP reloads the config. */
@Command(name = "run", mixinStandardHelpOptions = true,
    description = {"Run a node from a config file.",
        "SIGTERM or Ctrl-C drains (stop accepting, wait up to runtime.shutdownGrace for open connections) and exits 0.",
        "SIGHUP re-reads the file and applies the difference; an invalid file changes nothing."})
public final class RunCommand implements Callable<Integer> {
    private static final Logger LOG = Log.logger(RunCommand.class);

    @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE", description = "YAML config file.")
    Path config;

    @Option(names = "--log-level", paramLabel = "LEVEL", defaultValue = "info",
        description = "debug, info (default) or warn.")
    String logLevel;

    @Override
    public Integer call() throws Exception {
        Log.setup(level(logLevel));
        if (System.getProperty("io.netty.leakDetection.level") == null) {
            // Netty's default tracks one buffer in 128 with a stack trace: the only allocation left per proxied
            // read. The tests run with paranoid tracking; -Dio.netty.leakDetection.level=simple turns it on here.
            ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
        }
        NodeConfig cfg;
        try {
            cfg = ConfigLoader.load(config.toAbsolutePath());
        } catch (ConfigException e) {
            System.err.println(e.getMessage());
            return L4meshCli.EXIT_USAGE;
        }
        Node node;
        try {
            node = Node.start(cfg);
        } catch (ConfigException e) {
            System.err.println(e.getMessage());
            return L4meshCli.EXIT_USAGE;
        } catch (Exception e) {
            System.err.println("l4mesh: cannot start: " + e.getMessage());
            return L4meshCli.EXIT_FAILURE;
        }
        CountDownLatch stop = new CountDownLatch(1);
        Signal.handle(new Signal("TERM"), s -> stop.countDown());
        Signal.handle(new Signal("INT"), s -> stop.countDown());
        Signal.handle(new Signal("HUP"), s -> Thread.ofPlatform().name("l4mesh-reload").start(() -> reload(node)));
        stop.await();
        node.drainAndClose(node.config().shutdownGrace());
        return 0;
    }

    /** SIGHUP: the node logs and counts the outcome; nothing to wait for here. */
    static void reload(Node node) {
        node.reloadFromFile();
    }

    static Level level(String name) {
        return switch (name.toLowerCase()) {
            case "debug" -> Level.FINE;
            case "warn", "warning" -> Level.WARNING;
            case "error" -> Level.SEVERE;
            default -> Level.INFO;
        };
    }
}
