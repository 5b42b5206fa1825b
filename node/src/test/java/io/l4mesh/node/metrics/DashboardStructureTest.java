package io.l4mesh.node.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * No Grafana server can run here, so each dashboard's structure stands in for loading it: a schema version Grafana
 * 9+ reads, unique dashboard uids and panel ids, every panel on the Prometheus datasource variable, panels inside the
 * 24-column grid that do not overlap, every query with a refId and an expression, every variable it uses defined,
 * no query shown twice (in one dashboard or across the executive, on-call and debug views); and the provisioning
 * files name what the dashboards expect.
 */
class DashboardStructureTest {
    private static final Path DIR = Path.of("..", "dashboards");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern VARIABLE = Pattern.compile("\\$\\{?([A-Za-z_][A-Za-z0-9_]*)");

    private static List<Path> dashboards() throws IOException {
        try (Stream<Path> s = Files.list(DIR)) {
            return s.filter(p -> p.toString().endsWith(".json")).sorted().toList();
        }
    }

    @Test
    void everyDashboardIsWellFormed() throws IOException {
        java.util.Map<String, JsonNode> all = new java.util.TreeMap<>();
        for (Path f : dashboards()) {
            all.put(f.getFileName().toString(), JSON.readTree(f.toFile()));
        }
        List<String> problems = problems(all);
        assertTrue(problems.isEmpty(), String.join("\n", problems));
        assertEquals(Set.of("l4mesh-executive", "l4mesh-oncall", "l4mesh-debug"),
            all.values().stream().map(d -> d.path("uid").asText()).collect(java.util.stream.Collectors.toSet()),
            "the three views: executive, on-call, debug");
    }

    private static List<String> problems(java.util.Map<String, JsonNode> dashboards) {
        List<String> problems = new ArrayList<>();
        Set<String> uids = new HashSet<>();
        java.util.Map<String, String> shownIn = new java.util.HashMap<>();
        for (var e : dashboards.entrySet()) {
            String name = e.getKey();
            JsonNode d = e.getValue();
            if (d.path("schemaVersion").asInt() < 36) {
                problems.add(name + ": schemaVersion " + d.path("schemaVersion") + " (Grafana 9+ writes 36 or more)");
            }
            if (d.path("uid").asText().isEmpty() || !uids.add(d.path("uid").asText())) {
                problems.add(name + ": missing or repeated uid " + d.path("uid"));
            }
            if (d.path("title").asText().isEmpty()) {
                problems.add(name + ": no title");
            }
            Set<String> variables = new HashSet<>(Set.of("__rate_interval", "__interval", "__range"));
            for (JsonNode v : d.path("templating").path("list")) {
                variables.add(v.path("name").asText());
            }
            if (!variables.contains("datasource")) {
                problems.add(name + ": no datasource variable");
            }
            Set<Integer> ids = new HashSet<>();
            List<int[]> boxes = new ArrayList<>();
            for (JsonNode p : d.path("panels")) {
                String title = name + " '" + p.path("title").asText() + "'";
                if (!ids.add(p.path("id").asInt(-1)) || p.path("id").asInt(-1) < 0) {
                    problems.add(title + ": missing or repeated panel id " + p.path("id"));
                }
                JsonNode ds = p.path("datasource");
                if (!ds.path("type").asText().equals("prometheus") || !ds.path("uid").asText().equals("${datasource}")) {
                    problems.add(title + ": datasource is not the Prometheus variable: " + ds);
                }
                JsonNode g = p.path("gridPos");
                int x = g.path("x").asInt(-1);
                int y = g.path("y").asInt(-1);
                int w = g.path("w").asInt(0);
                int h = g.path("h").asInt(0);
                if (x < 0 || y < 0 || w <= 0 || h <= 0 || x + w > 24) {
                    problems.add(title + ": gridPos outside the 24-column grid: " + g);
                }
                for (int[] o : boxes) {
                    if (x < o[0] + o[2] && o[0] < x + w && y < o[1] + o[3] && o[1] < y + h) {
                        problems.add(title + ": overlaps another panel at " + g);
                    }
                }
                boxes.add(new int[] {x, y, w, h});
                Set<String> refs = new HashSet<>();
                if (p.path("targets").isEmpty()) {
                    problems.add(title + ": no query");
                }
                for (JsonNode t : p.path("targets")) {
                    if (t.path("expr").asText().isBlank() || !refs.add(t.path("refId").asText())) {
                        problems.add(title + ": a query without an expression or with a repeated refId");
                    }
                    String other = shownIn.putIfAbsent(t.path("expr").asText().replaceAll("\\s+", " "), title);
                    if (other != null) {
                        problems.add(title + ": shows what " + other + " shows already: " + t.path("expr").asText());
                    }
                    Matcher m = VARIABLE.matcher(t.path("expr").asText());
                    while (m.find()) {
                        if (!variables.contains(m.group(1))) {
                            problems.add(title + ": uses undefined variable $" + m.group(1));
                        }
                    }
                }
            }
        }
        return problems;
    }

    /** Each kind of breakage is caught: the checks are not vacuous. */
    @Test
    void theChecksCatchABrokenDashboard() throws IOException {
        Path f = dashboards().get(0);
        List<java.util.function.Consumer<com.fasterxml.jackson.databind.node.ObjectNode>> breakages = List.of(
            d -> ((com.fasterxml.jackson.databind.node.ObjectNode) d.path("panels").get(1))
                .set("gridPos", d.path("panels").get(0).path("gridPos").deepCopy()),
            d -> ((com.fasterxml.jackson.databind.node.ObjectNode) d.path("panels").get(1)).put("id",
                d.path("panels").get(0).path("id").asInt()),
            d -> ((com.fasterxml.jackson.databind.node.ObjectNode) d.path("panels").get(0).path("datasource"))
                .put("uid", "some-fixed-uid"),
            d -> ((com.fasterxml.jackson.databind.node.ObjectNode) d.path("panels").get(0).path("targets").get(0))
                .put("expr", "rate(l4mesh_connections_total{node=~\"$nodes\"}[1m])"),
            d -> d.put("schemaVersion", 16),
            d -> ((com.fasterxml.jackson.databind.node.ArrayNode) d.path("panels").get(1).path("targets"))
                .add(((com.fasterxml.jackson.databind.node.ObjectNode) d.path("panels").get(0).path("targets").get(0)
                    .deepCopy()).put("refId", "Z")));
        for (int i = 0; i < breakages.size(); i++) {
            com.fasterxml.jackson.databind.node.ObjectNode d =
                (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(f.toFile());
            breakages.get(i).accept(d);
            assertTrue(!problems(java.util.Map.of("broken.json", d)).isEmpty(), "breakage " + i + " is caught");
        }
    }

    @Test
    void theProvisioningFilesMatchWhatTheDashboardsExpect() throws IOException {
        YAMLMapper yaml = new YAMLMapper();
        JsonNode ds = yaml.readTree(DIR.resolve("grafana/datasource.yml").toFile());
        assertTrue(ds.path("datasources").get(0).path("type").asText().equals("prometheus"), ds.toString());
        assertTrue(ds.path("datasources").get(0).path("url").asText().endsWith(":9099"),
            "the Prometheus of l4mesh demo --prometheus");
        JsonNode dash = yaml.readTree(DIR.resolve("grafana/dashboards.yml").toFile());
        assertTrue(dash.path("providers").get(0).path("type").asText().equals("file"), dash.toString());
        assertTrue(dash.path("apiVersion").asInt() == 1 && ds.path("apiVersion").asInt() == 1);
    }
}
