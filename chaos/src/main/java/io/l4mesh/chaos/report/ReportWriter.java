package io.l4mesh.chaos.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.l4mesh.chaos.check.Invariant;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Writes a chaos run's {@code report.json} and {@code report.html}. The page is self-contained (inline CSS and SVG,
 * no script, no network): per scenario its verdict, the invariants with their measured values and bounds, the
 * figures, the steps, and a timeline of live / stalled / failed connections, the new-connection success rate, the
 * fault markers and each node's announcement.
 */
public final class ReportWriter {
    static final int WIDTH = 960;
    static final int LEFT = 70;
    static final int RIGHT = 20;
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private ReportWriter() {
    }

    /** Writes both files into {@code dir} (created if needed). */
    public static void write(SuiteReport report, Path dir) throws IOException {
        Files.createDirectories(dir);
        JSON.writeValue(dir.resolve("report.json").toFile(), report);
        Files.writeString(dir.resolve("report.html"), html(report));
    }

    /** The report as JSON text (for {@code --json}). */
    public static String json(SuiteReport report) throws IOException {
        return JSON.writeValueAsString(report);
    }

    static String html(SuiteReport r) {
        StringBuilder b = new StringBuilder(64 * 1024);
        b.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n")
            .append("<title>l4mesh chaos report</title>\n")
            .append("<style>\n")
            .append("body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1000px}\n")
            .append("h1{font-size:22px}h2{font-size:18px;margin-top:36px;border-top:1px solid #ccc;padding-top:12px}\n")
            .append("table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;")
            .append("text-align:left;vertical-align:top}th{background:#f4f4f4}\n")
            .append(".pass{color:#fff;background:#2a7d2a}.fail{color:#fff;background:#b22}.skipped{color:#fff;")
            .append("background:#888}.badge{padding:1px 8px;border-radius:3px;font-weight:600}\n")
            .append(".held{color:#2a7d2a}.broken{color:#b22;font-weight:600}")
            .append(".ev{font-family:monospace;font-size:12px}\n")
            .append("svg text{font:11px sans-serif}\n</style></head><body>\n");
        b.append("<h1>l4mesh chaos report <span class=\"badge ").append(r.verdict()).append("\">")
            .append(r.verdict().toUpperCase()).append("</span></h1>\n");
        b.append("<p>Started ").append(esc(Instant.ofEpochMilli(r.startEpochMs()).toString())).append(", seed ")
            .append(r.seed()).append(", ").append(esc(r.machine())).append(".</p>\n");
        b.append("<table><tr><th>scenario</th><th>target</th><th>verdict</th><th>invariants held</th>")
            .append("<th>duration</th></tr>\n");
        for (ScenarioResult s : r.scenarios()) {
            long held = s.invariants().stream().filter(Invariant::held).count();
            b.append("<tr><td><a href=\"#").append(esc(s.name())).append("\">").append(esc(s.name()))
                .append("</a></td><td>").append(esc(s.target())).append("</td><td><span class=\"badge ")
                .append(s.verdict()).append("\">").append(s.verdict()).append("</span></td><td>").append(held)
                .append(" / ").append(s.invariants().size()).append("</td><td>")
                .append(String.format("%.1f s", s.durationMs() / 1000.0)).append("</td></tr>\n");
        }
        b.append("</table>\n");
        for (ScenarioResult s : r.scenarios()) {
            scenario(b, s);
        }
        b.append("</body></html>\n");
        return b.toString();
    }

    private static void scenario(StringBuilder b, ScenarioResult s) {
        b.append("<h2 id=\"").append(esc(s.name())).append("\">").append(esc(s.name())).append(" <span class=\"badge ")
            .append(s.verdict()).append("\">").append(s.verdict()).append("</span></h2>\n<p>").append(esc(s.summary()))
            .append(" (").append(esc(s.target())).append(")</p>\n");
        if (s.reason() != null) {
            b.append("<p><b>").append(s.verdict().equals("skipped") ? "Skipped" : "Why").append(":</b> ")
                .append(esc(s.reason())).append("</p>\n");
        }
        if (s.verdict().equals("skipped")) {
            return;
        }
        b.append(svg(s));
        b.append("<table><tr><th>invariant</th><th>measured</th><th>bound</th><th></th><th>evidence</th></tr>\n");
        for (Invariant i : s.invariants()) {
            b.append("<tr><td>").append(esc(i.name())).append("</td><td>").append(esc(i.measured())).append("</td><td>")
                .append(esc(i.bound())).append("</td><td class=\"").append(i.held() ? "held\">held" : "broken\">BROKEN")
                .append("</td><td>").append(esc(i.detail())).append("</td></tr>\n");
        }
        b.append("</table>\n");
        if (!s.figures().isEmpty()) {
            b.append("<table><tr><th>figure</th><th>value</th></tr>\n");
            for (Map.Entry<String, Object> f : s.figures().entrySet()) {
                b.append("<tr><td>").append(esc(f.getKey())).append("</td><td>")
                    .append(esc(String.valueOf(f.getValue()))).append("</td></tr>\n");
            }
            b.append("</table>\n");
        }
        b.append("<details><summary>steps (").append(s.events().size()).append(")</summary><div class=\"ev\">\n");
        for (Event e : s.events()) {
            b.append(String.format("+%7.3f s  %-10s ", e.atMs() / 1000.0, e.kind())).append(esc(e.what()))
                .append("<br>\n");
        }
        b.append("</div></details>\n");
        if (s.logs() != null) {
            b.append("<p>Logs of this run: <code>").append(esc(s.logs())).append("</code></p>\n");
        }
    }

    /** The timeline: connections, new-connection success, node lanes and fault markers, one time axis. */
    static String svg(ScenarioResult s) {
        List<Sample> t = s.timeline();
        long endMs = Math.max(1000, s.durationMs());
        TreeSet<Integer> nodes = new TreeSet<>();
        t.forEach(x -> nodes.addAll(x.serving()));
        int connTop = 20;
        int connH = 140;
        int rateTop = connTop + connH + 30;
        int rateH = 50;
        int laneTop = rateTop + rateH + 30;
        int laneH = 14;
        int height = laneTop + Math.max(1, nodes.size()) * (laneH + 6) + 30;
        int plotW = WIDTH - LEFT - RIGHT;
        int max = 1;
        for (Sample x : t) {
            max = Math.max(max, x.live() + x.stalled() + x.failed());
        }
        StringBuilder b = new StringBuilder();
        b.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(WIDTH).append("\" height=\"")
            .append(height).append("\" role=\"img\" aria-label=\"timeline of ").append(esc(s.name())).append("\">\n");
        b.append("<rect x=\"0\" y=\"0\" width=\"").append(WIDTH).append("\" height=\"").append(height)
            .append("\" fill=\"#fff\"/>\n");
        // axes and labels
        axis(b, connTop, connH, plotW, "long connections", max);
        axis(b, rateTop, rateH, plotW, "new conn. ok %", 100);
        for (int sec = 0; sec * 1000L <= endMs; sec += tick(endMs)) {
            int x = LEFT + (int) (plotW * sec * 1000L / endMs);
            b.append("<line x1=\"").append(x).append("\" y1=\"").append(laneTop + Math.max(1, nodes.size())
                * (laneH + 6)).append("\" x2=\"").append(x).append("\" y2=\"").append(laneTop + Math.max(1,
                nodes.size()) * (laneH + 6) + 4).append("\" stroke=\"#999\"/>");
            b.append("<text x=\"").append(x).append("\" y=\"").append(height - 8).append("\" text-anchor=\"middle\">")
                .append(sec).append(" s</text>\n");
        }
        // connection series
        series(b, t, endMs, plotW, connTop, connH, max, "#2a7d2a", Sample::live, "live");
        series(b, t, endMs, plotW, connTop, connH, max, "#e08a00", Sample::stalled, "stalled");
        series(b, t, endMs, plotW, connTop, connH, max, "#b22", Sample::failed, "failed");
        legend(b, connTop - 6);
        // new-connection success per second
        StringBuilder pts = new StringBuilder();
        for (long[] sec : s.newConnections()) {
            if (sec[1] == 0) {
                continue;
            }
            double rate = 100.0 * sec[2] / sec[1];
            int x = LEFT + (int) (plotW * (sec[0] * 1000 + 500) / endMs);
            int y = rateTop + rateH - (int) (rateH * rate / 100);
            pts.append(x).append(',').append(y).append(' ');
            if (rate < 100) {
                b.append("<circle cx=\"").append(x).append("\" cy=\"").append(y).append("\" r=\"3\" fill=\"#b22\">")
                    .append("<title>").append(sec[0]).append(" s: ").append(sec[2]).append(" of ").append(sec[1])
                    .append("</title></circle>\n");
            }
        }
        b.append("<polyline fill=\"none\" stroke=\"#2255aa\" stroke-width=\"1.5\" points=\"").append(pts)
            .append("\"/>\n");
        lanes(b, t, nodes, endMs, plotW, laneTop, laneH);
        markers(b, s.events(), endMs, plotW, connTop, laneTop + Math.max(1, nodes.size()) * (laneH + 6));
        b.append("</svg>\n");
        return b.toString();
    }

    /** A lane per node, green while it serves (the router's next hops in the lab). */
    private static void lanes(StringBuilder b, List<Sample> t, TreeSet<Integer> nodes, long endMs, int plotW,
                              int laneTop, int laneH) {
        int lane = 0;
        for (int n : nodes) {
            int y = laneTop + lane * (laneH + 6);
            b.append("<text x=\"").append(LEFT - 6).append("\" y=\"").append(y + laneH - 3)
                .append("\" text-anchor=\"end\">node-").append(n).append("</text>");
            b.append("<rect x=\"").append(LEFT).append("\" y=\"").append(y).append("\" width=\"").append(plotW)
                .append("\" height=\"").append(laneH).append("\" fill=\"#eee\"/>\n");
            long from = -1;
            for (int i = 0; i <= t.size(); i++) {
                boolean on = i < t.size() && t.get(i).serving().contains(n);
                if (on && from < 0) {
                    from = t.get(i).atMs();
                } else if (!on && from >= 0) {
                    long to = i < t.size() ? t.get(i).atMs() : endMs;
                    int x1 = LEFT + (int) (plotW * from / endMs);
                    int x2 = LEFT + (int) (plotW * to / endMs);
                    b.append("<rect x=\"").append(x1).append("\" y=\"").append(y).append("\" width=\"")
                        .append(Math.max(1, x2 - x1)).append("\" height=\"").append(laneH)
                        .append("\" fill=\"#5cb85c\"><title>node-").append(n).append(" serving ").append(from)
                        .append("-").append(to).append(" ms</title></rect>\n");
                    from = -1;
                }
            }
            lane++;
        }
    }

    /** A dashed line across every chart for each fault, heal, withdrawal and return; faults and heals labelled. */
    private static void markers(StringBuilder b, List<Event> events, long endMs, int plotW, int top, int bottom) {
        for (Event e : events) {
            String colour = switch (e.kind()) {
                case "fault" -> "#b22";
                case "healed", "back" -> "#2a7d2a";
                case "withdrawn", "detected" -> "#e08a00";
                default -> null;
            };
            if (colour == null) {
                continue;
            }
            int x = LEFT + (int) (plotW * e.atMs() / endMs);
            b.append("<line x1=\"").append(x).append("\" y1=\"").append(top).append("\" x2=\"").append(x)
                .append("\" y2=\"").append(bottom).append("\" stroke=\"")
                .append(colour).append("\" stroke-dasharray=\"4,3\"><title>").append(esc(e.kind() + ": " + e.what()))
                .append(String.format(" (+%.3f s)", e.atMs() / 1000.0)).append("</title></line>\n");
            if (e.kind().equals("fault") || e.kind().equals("healed")) {
                b.append("<text x=\"").append(x + 3).append("\" y=\"").append(top + 10).append("\" fill=\"")
                    .append(colour).append("\">").append(esc(shorten(e.what()))).append("</text>\n");
            }
        }
    }

    private static int tick(long endMs) {
        long s = endMs / 1000;
        return s <= 20 ? 2 : s <= 60 ? 5 : s <= 180 ? 15 : 30;
    }

    private static void axis(StringBuilder b, int top, int h, int w, String label, int max) {
        b.append("<rect x=\"").append(LEFT).append("\" y=\"").append(top).append("\" width=\"").append(w)
            .append("\" height=\"").append(h).append("\" fill=\"none\" stroke=\"#ccc\"/>\n");
        b.append("<text x=\"").append(LEFT - 6).append("\" y=\"").append(top + 10).append("\" text-anchor=\"end\">")
            .append(max).append("</text><text x=\"").append(LEFT - 6).append("\" y=\"").append(top + h)
            .append("\" text-anchor=\"end\">0</text>");
        b.append("<text x=\"4\" y=\"").append(top + h / 2 + 4).append("\">").append(esc(label)).append("</text>\n");
    }

    private static void series(StringBuilder b, List<Sample> t, long endMs, int plotW, int top, int h, int max,
                               String colour, java.util.function.ToIntFunction<Sample> f, String name) {
        StringBuilder pts = new StringBuilder();
        for (Sample x : t) {
            int px = LEFT + (int) (plotW * x.atMs() / endMs);
            int py = top + h - (int) ((long) h * f.applyAsInt(x) / max);
            pts.append(px).append(',').append(py).append(' ');
        }
        b.append("<polyline fill=\"none\" stroke=\"").append(colour).append("\" stroke-width=\"1.5\" points=\"")
            .append(pts).append("\"><title>").append(name).append("</title></polyline>\n");
    }

    private static void legend(StringBuilder b, int y) {
        String[][] items = {{"#2a7d2a", "live"}, {"#e08a00", "stalled"}, {"#b22", "failed"}, {"#2255aa",
            "new-connection success"}, {"#5cb85c", "node serving"}};
        int x = LEFT;
        for (String[] it : items) {
            b.append("<rect x=\"").append(x).append("\" y=\"").append(y - 8)
                .append("\" width=\"10\" height=\"8\" fill=\"").append(it[0]).append("\"/>");
            b.append("<text x=\"").append(x + 14).append("\" y=\"").append(y).append("\">").append(it[1])
                .append("</text>");
            x += 30 + it[1].length() * 6;
        }
        b.append('\n');
    }

    private static String shorten(String s) {
        return s.length() <= 28 ? s : s.substring(0, 27) + "…";
    }

    static String esc(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder b = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            switch (c) {
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '&' -> b.append("&amp;");
                case '"' -> b.append("&quot;");
                default -> b.append(c);
            }
        }
        return b.toString();
    }
}
