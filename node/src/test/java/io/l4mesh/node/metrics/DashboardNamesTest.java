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

    private static final Pattern SELECTOR = Pattern.compile("\\b(l4mesh_[a-z0-9_]+)\\{([^}]*)}");
    private static final Pattern MATCHER = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)\\s*(=~|!~|!=|=)");
    private static final Pattern GROUPING = Pattern.compile("\\b(?:by|without|on|ignoring)\\s*\\(([^)]*)\\)");

    /** Every label a query selects or groups by is one its metrics export (see {@link MetricName#labels()}). */
    @Test
    void everyLabelAQueryUsesIsExported() throws IOException {
        Set<String> problems = new TreeSet<>();
        for (String expr : queries()) {
            Set<String> inQuery = new TreeSet<>(Set.of("node", "le", "job", "instance", "fingerprint"));
            Matcher names = NAME.matcher(expr);
            while (names.find()) {
                MetricName m = metric(names.group());
                if (m != null) {
                    inQuery.addAll(m.labels());
                }
            }
            Matcher sel = SELECTOR.matcher(expr);
            while (sel.find()) {
                MetricName m = metric(sel.group(1));
                Matcher l = MATCHER.matcher(sel.group(2));
                while (l.find()) {
                    if (m != null && !m.labels().contains(l.group(1)) && !Set.of("node", "le").contains(l.group(1))) {
                        problems.add(sel.group(1) + " has no label " + l.group(1) + ": " + expr);
                    }
                }
            }
            Matcher g = GROUPING.matcher(expr);
            while (g.find()) {
                for (String label : g.group(1).split(",")) {
                    if (!label.isBlank() && !inQuery.contains(label.strip())) {
                        problems.add("no metric of the query has label " + label.strip() + ": " + expr);
                    }
                }
            }
        }
        assertTrue(problems.isEmpty(), String.join("\n", problems));
    }

    private static MetricName metric(String series) {
        return Arrays.stream(MetricName.values()).filter(m -> m.prometheusSeries().contains(series)).findFirst()
            .orElse(null);
    }

    /** Every dashboard panel's query and every rule's expression. */
    private static List<String> queries() throws IOException {
        List<String> exprs = new java.util.ArrayList<>();
        DashboardQueries.all(DashboardQueries.dir()).forEach(q -> exprs.add(q.expr()));
        new com.fasterxml.jackson.dataformat.yaml.YAMLMapper()
            .readTree(DashboardQueries.dir().resolve("l4mesh-alerts.yml").toFile())
            .path("groups").forEach(g -> g.path("rules").forEach(r -> exprs.add(r.path("expr").asText())));
        assertTrue(exprs.size() > 50, "queries found: " + exprs.size());
        return exprs;
    }
}
