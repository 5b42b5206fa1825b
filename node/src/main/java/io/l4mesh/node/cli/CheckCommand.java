package io.l4mesh.node.cli;

import io.l4mesh.node.config.ConfigException;
import io.l4mesh.node.config.ConfigLoader;
import io.l4mesh.node.config.NodeConfig;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code l4mesh check --config FILE}: validates a config without starting anything. */
@Command(name = "check", mixinStandardHelpOptions = true, description = "Validate a config file; exit 2 if invalid.")
public final class CheckCommand implements Callable<Integer> {
    @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE", description = "YAML config file.")
    Path config;

    @Option(names = "--json", description = "Print one JSON object: ok, and the error or the warnings.")
    boolean json;

    @Override
    public Integer call() {
        Map<String, Object> out = new LinkedHashMap<>();
        try {
            NodeConfig c = ConfigLoader.load(config);
            out.put("ok", true);
            out.put("listeners", c.listeners().size());
            out.put("pools", c.pools().size());
            out.put("warnings", ConfigLoader.warnings(c));
            if (!json) {
                ConfigLoader.warnings(c).forEach(System.err::println);
                System.out.println("config ok: " + c.listeners().size() + " listeners, " + c.pools().size() + " pools");
            }
        } catch (ConfigException e) {
            out.put("ok", false);
            out.put("error", e.getMessage());
            if (!json) {
                System.err.println(e.getMessage());
            }
        }
        if (json) {
            try {
                System.out.println(new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(out));
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
        }
        return Boolean.TRUE.equals(out.get("ok")) ? 0 : L4meshCli.EXIT_USAGE;
    }
}
