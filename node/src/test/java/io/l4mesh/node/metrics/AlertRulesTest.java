package io.l4mesh.node.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The shipped Prometheus files pass Prometheus' own checks: the rules parse, each alert's unit test shows it firing
 * where it must and not elsewhere ({@code l4mesh-alerts.test.yml}), and the scrape config loads with its rules.
 */
class AlertRulesTest {
    private static final Path DIR = Path.of("..", "dashboards");

    private static String promtool(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("promtool"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(DIR.toFile()).redirectErrorStream(true).start();
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                return "promtool " + String.join(" ", args) + ": timed out";
            }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return p.exitValue() == 0 ? "" : "promtool " + String.join(" ", args) + " failed:\n" + out;
        } finally {
            p.destroyForcibly();
        }
    }

    private static void assumePromtool() {
        assumeTrue(io.l4mesh.node.cli.L4meshCli.onPath("promtool"), "promtool is not installed (Debian package prometheus); .ci/run installs it");
    }

    @Test
    void theRulesParseAndEveryAlertFiresWhereItsTestSays() throws Exception {
        assumePromtool();
        assertEquals("", promtool("check", "rules", "l4mesh-alerts.yml"));
        assertEquals("", promtool("test", "rules", "l4mesh-alerts.test.yml"));
    }

    @Test
    void theScrapeConfigLoadsWithItsRules() throws Exception {
        assumePromtool();
        assertEquals("", promtool("check", "config", "prometheus.yml"));
    }
}
