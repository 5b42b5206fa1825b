package io.l4mesh.node.metrics;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Dashboards, alert rules and their tests use only the stable metric names of {@link MetricName}. */
class DashboardNamesTest {
    private static final Pattern NAME = Pattern.compile("\\bl4mesh_[a-z0-9_]+");

    @Test
    void everyMetricADashboardQueriesExists() throws IOException {
        Path dir = Path.of("..", "dashboards");
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.toString().endsWith(".json") || p.toString().endsWith(".yml")).toList();
        }
        assertTrue(files.stream().anyMatch(p -> p.toString().endsWith(".json")), "dashboards/ has Grafana JSON files");
        assertTrue(files.stream().anyMatch(p -> p.toString().endsWith("l4mesh-alerts.yml")), "and the alert rules");
        Set<String> known = Arrays.stream(MetricName.values()).flatMap(n -> n.prometheusSeries().stream())
            .collect(Collectors.toSet());
        Set<String> unknown = new TreeSet<>();
        for (Path f : files) {
            Matcher m = NAME.matcher(Files.readString(f));
            while (m.find()) {
                if (!known.contains(m.group())) {
                    unknown.add(f.getFileName() + ": " + m.group());
                }
            }
        }
        assertTrue(unknown.isEmpty(), "dashboards query names that do not exist: " + unknown);
    }
}
