package io.l4mesh.node.metrics;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads a node's Prometheus text exposition and checks each series against {@link MetricName}. */
public final class Exposition {
    private static final Pattern SERIES = Pattern.compile("^(l4mesh_[a-z0-9_]+)(?:\\{([^}]*)})? ");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"");

    private Exposition() {
    }

    /**
     * One line per series whose labels are not exactly its metric's {@link MetricName#labels()} (plus {@code node},
     * and {@code le} on histogram buckets), or whose name no metric declares. Empty when every series conforms.
     */
    public static List<String> labelProblems(String text) {
        Map<String, MetricName> bySeries = new HashMap<>();
        for (MetricName m : MetricName.values()) {
            m.prometheusSeries().forEach(s -> bySeries.put(s, m));
        }
        List<String> problems = new ArrayList<>();
        Set<String> reported = new TreeSet<>();
        for (String line : text.split("\n")) {
            Matcher s = SERIES.matcher(line);
            if (!s.find()) {
                continue;
            }
            String name = s.group(1);
            MetricName m = bySeries.get(name);
            Set<String> have = new TreeSet<>();
            if (s.group(2) != null) {
                Matcher l = LABEL.matcher(s.group(2));
                while (l.find()) {
                    have.add(l.group(1));
                }
            }
            Set<String> want = new TreeSet<>();
            if (m != null) {
                want.addAll(m.labels());
                want.add("node");
                if (name.endsWith("_bucket")) {
                    want.add("le");
                }
            }
            if (m == null || !have.equals(want)) {
                String problem = name + ": labels " + have + (m == null ? ", no such metric" : ", declared " + want);
                if (reported.add(problem)) {
                    problems.add(problem);
                }
            }
        }
        return problems;
    }
}
