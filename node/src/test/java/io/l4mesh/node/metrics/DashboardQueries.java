package io.l4mesh.node.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** The shipped dashboards' panel queries, and which of them can only have data where packet mode runs. */
public final class DashboardQueries {
    private static final Pattern NAME = Pattern.compile("\\bl4mesh(?::[a-z0-9_]+)+|\\bl4mesh_[a-z0-9_]+");

    /** One panel query: the dashboard's file, the panel's title, the expression with {@code $node} as any node. */
    public record Query(String file, String panel, String expr) {
        @Override
        public String toString() {
            return file + " '" + panel + "': " + expr;
        }
    }

    private DashboardQueries() {
    }

    /** The {@code dashboards/} directory of the checkout, seen from a module's directory. */
    public static Path dir() {
        return Path.of("..", "dashboards");
    }

    /** Every query of every dashboard in {@code dir}. */
    public static List<Query> all(Path dir) {
        List<Query> queries = new ArrayList<>();
        ObjectMapper json = new ObjectMapper();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path f : s.filter(p -> p.toString().endsWith(".json")).sorted().toList()) {
                for (JsonNode panel : json.readTree(f.toFile()).path("panels")) {
                    for (JsonNode t : panel.path("targets")) {
                        queries.add(new Query(f.getFileName().toString(), panel.path("title").asText(),
                            t.path("expr").asText().replace("$node", ".*")));
                    }
                }
            }
            return queries;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Whether every metric {@code expr} reads (through the recording rules of {@code l4mesh-alerts.yml} too) is
     * exported only by nodes with packet-mode listeners: such a panel is empty on a proxy-mode mesh.
     */
    public static boolean packetOnly(Path dir, String expr) {
        Map<String, String> recorded = new HashMap<>();
        try {
            new YAMLMapper().readTree(dir.resolve("l4mesh-alerts.yml").toFile()).path("groups")
                .forEach(g -> g.path("rules").forEach(r -> {
                    if (r.has("record")) {
                        recorded.put(r.path("record").asText(), r.path("expr").asText());
                    }
                }));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Set<String> metrics = new HashSet<>();
        collect(expr, recorded, metrics);
        return !metrics.isEmpty() && metrics.stream().allMatch(n -> java.util.Arrays.stream(MetricName.values())
            .anyMatch(m -> m.packetOnly() && m.prometheusSeries().contains(n)));
    }

    private static void collect(String expr, Map<String, String> recorded, Set<String> into) {
        Matcher m = NAME.matcher(expr);
        while (m.find()) {
            String rule = recorded.get(m.group());
            if (rule != null) {
                collect(rule, recorded, into);
            } else if (!m.group().contains(":")) {
                into.add(m.group());
            }
        }
    }
}
