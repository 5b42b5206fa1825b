package io.l4mesh.chaos.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.l4mesh.chaos.check.Invariant;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** report.json holds every fault, invariant and verdict; report.html is one self-contained page with a timeline. */
class ReportWriterTest {
    @TempDir
    Path dir;

    static SuiteReport sample() {
        List<Sample> timeline = new ArrayList<>();
        for (long t = 0; t <= 10_000; t += 100) {
            boolean gone = t >= 3000 && t < 7000;
            timeline.add(new Sample(t, gone && t < 3300 ? 180 : 200, gone && t < 3300 ? 20 : 0, 0,
                gone ? List.of(1, 2) : List.of(1, 2, 3)));
        }
        Map<String, Object> figures = new LinkedHashMap<>();
        figures.put("fault to withdrawal (ms)", 92);
        ScenarioResult kill = new ScenarioResult("node-kill", "kill -9 <one> node & see", "lab", "pass", null,
            1_800_000_000_000L, 10_000, List.of(new Event(3000, "fault", "kill -9 node-3 (pid 42)"),
                new Event(3092, "withdrawn", "node-3 stopped serving"), new Event(7000, "healed", "start node-3")),
            List.of(new Invariant("established connections unbroken", 0, "of 200", "= 0", true, ""),
                new Invariant("longest stall", 266, "ms", "<= 1184 ms", true, "slowest: c7")),
            figures, timeline, List.of(new long[] {0, 20, 20}, new long[] {3, 20, 19}, new long[] {4, 20, 20}), null);
        ScenarioResult broken = new ScenarioResult("gossip-loss", "lossy gossip", "loopback", "fail",
            "broken: live nodes declared dead", 1_800_000_000_000L, 5000, List.of(),
            List.of(new Invariant("live nodes declared dead", 2, "removals", "<= 0", false, "node-2 at 3100 ms")),
            Map.of(), List.of(), List.of(), "/tmp/logs/gossip-loss");
        ScenarioResult skipped = ScenarioResult.skipped("router-flap", "BIRD restarts", "-", "needs root and the lab");
        return new SuiteReport(1_800_000_000_000L, 42, "2 cores, Linux", "fail", List.of(kill, broken, skipped));
    }

    @Test
    void jsonHoldsFaultsInvariantsAndVerdicts() throws Exception {
        ReportWriter.write(sample(), dir);
        JsonNode r = new ObjectMapper().readTree(dir.resolve("report.json").toFile());
        assertEquals(42, r.path("seed").asLong());
        assertEquals("fail", r.path("verdict").asText());
        JsonNode kill = r.path("scenarios").get(0);
        assertEquals("node-kill", kill.path("name").asText());
        assertEquals("fault", kill.path("events").get(0).path("kind").asText());
        assertEquals(3000, kill.path("events").get(0).path("atMs").asLong());
        JsonNode inv = kill.path("invariants").get(1);
        assertEquals(266, inv.path("value").asDouble());
        assertEquals("<= 1184 ms", inv.path("bound").asText());
        assertTrue(inv.path("held").asBoolean());
        assertEquals("skipped", r.path("scenarios").get(2).path("verdict").asText());
        assertEquals("needs root and the lab", r.path("scenarios").get(2).path("reason").asText());
    }

    @Test
    void htmlIsOneSelfContainedPageWithATimelinePerScenario() throws Exception {
        ReportWriter.write(sample(), dir);
        String html = Files.readString(dir.resolve("report.html"));
        assertTrue(html.startsWith("<!DOCTYPE html>"));
        assertFalse(html.contains("<script"), "no script");
        assertFalse(html.contains("https://"), "nothing fetched from the network");
        assertEquals(count(html, "http://www.w3.org/2000/svg"), count(html, "http://"),
            "the only URL is the SVG namespace");
        assertEquals(2, count(html, "<svg "), "one timeline per scenario that ran");
        assertTrue(html.contains("kill -9 node-3"), "fault markers are labelled");
        assertTrue(html.contains("node-3 serving"), "node lanes show when each node served");
        assertTrue(html.contains("kill -9 &lt;one&gt; node &amp; see"), "text is escaped");
        assertTrue(html.contains("BROKEN") && html.contains("/tmp/logs/gossip-loss"),
            "a failure says where its logs are");
    }

    private static int count(String s, String what) {
        return s.split(java.util.regex.Pattern.quote(what), -1).length - 1;
    }
}
