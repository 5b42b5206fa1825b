package io.l4mesh.node.cli;

import io.l4mesh.node.config.ConfigException;
import io.l4mesh.node.config.ConfigLoader;
import io.l4mesh.node.config.NodeConfig;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code l4mesh check --config FILE}: validates a config without starting anything. */
@Command(name = "check", mixinStandardHelpOptions = true, description = "Validate a config file; exit 2 if invalid.")
public final class CheckCommand implements Callable<Integer> {
    @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE", description = "YAML config file.")
    Path config;

    @Override
    public Integer call() {
        try {
            NodeConfig c = ConfigLoader.load(config);
            ConfigLoader.warnings(c).forEach(System.err::println);
            System.out.println("config ok: " + c.listeners().size() + " listeners, " + c.pools().size() + " pools");
            return 0;
        } catch (ConfigException e) {
            System.err.println(e.getMessage());
            return L4meshCli.EXIT_USAGE;
        }
    }
}
