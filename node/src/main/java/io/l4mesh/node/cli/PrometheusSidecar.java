package io.l4mesh.node.cli;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

/**
 * A Prometheus server (the Debian package's binary) next to l4mesh nodes, with the shipped rules
 * ({@code dashboards/l4mesh-alerts.yml}): what {@code l4mesh demo --prometheus} and {@code l4mesh lab up --prometheus}
 * start. Its config and data live in a directory of the caller's.
 */
public final class PrometheusSidecar {
    /** Where it listens by default: Prometheus' own default, 9090, is the first demo node's admin port. */
    public static final int DEFAULT_PORT = 9099;

    private final Path rules;

    private PrometheusSidecar(Path rules) {
        this.rules = rules;
    }

    /**
     * A sidecar that can run here, or an {@link IllegalStateException} saying in one line why not (no binary on
     * PATH, no shipped rules found next to the launcher or the working directory). {@code option} names the flag.
     */
    public static PrometheusSidecar find(String option) {
        if (!L4meshCli.onPath("prometheus")) {
            throw new IllegalStateException(option + " needs the prometheus binary on PATH (Debian: apt-get install "
                + "prometheus)");
        }
        String home = System.getProperty("l4mesh.home");
        for (Path dashboards : List.of(Path.of(home == null ? "." : home, "dashboards"), Path.of("dashboards"),
            Path.of("..", "dashboards"))) {
            if (Files.isRegularFile(dashboards.resolve("l4mesh-alerts.yml"))) {
                return new PrometheusSidecar(dashboards.resolve("l4mesh-alerts.yml").toAbsolutePath().normalize());
            }
        }
        throw new IllegalStateException(option + " cannot find dashboards/l4mesh-alerts.yml (run it from the l4mesh "
            + "checkout)");
    }

    public Path rules() {
        return rules;
    }

    /** A config like {@code dashboards/prometheus.yml}: job {@code l4mesh} scraping {@code targets} every 5 s. */
    public String config(List<String> targets) {
        return """
            global: {scrape_interval: 5s, evaluation_interval: 5s}
            rule_files: ["%s"]
            scrape_configs:
              - job_name: l4mesh
                metrics_path: /metrics
                static_configs:
                  - targets: [%s]
            """.formatted(rules, targets.stream().map(t -> '"' + t + '"').collect(Collectors.joining(", ")));
    }

    /**
     * Writes {@code dir/prometheus.yml} for {@code targets} and returns the command that runs Prometheus on
     * 127.0.0.1:{@code port} with it (data in {@code dir/prometheus-data}, log for the caller to redirect).
     */
    public List<String> prepare(Path dir, List<String> targets, int port) throws IOException {
        Path config = dir.resolve("prometheus.yml");
        Files.writeString(config, config(targets));
        return List.of("prometheus", "--config.file=" + config, "--storage.tsdb.path=" + dir.resolve("prometheus-data"),
            "--web.listen-address=127.0.0.1:" + port);
    }

    /** The line both commands print once it runs. */
    public String guide(int port) {
        return "Prometheus: http://127.0.0.1:" + port + " (scraping every node's /metrics every 5 s, rules " + rules
            + "; for Grafana, provision dashboards/grafana/*.yml or add it as a Prometheus datasource and import "
            + "dashboards/*.json)";
    }

    /** Whether something accepts TCP connections on 127.0.0.1:{@code port}. */
    public static boolean listening(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 300);
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
