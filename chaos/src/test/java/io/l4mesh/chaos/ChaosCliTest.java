package io.l4mesh.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.l4mesh.chaos.scenario.Catalogue;
import io.l4mesh.chaos.scenario.Scenario;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code l4mesh chaos}: the list, usage errors, and a run whose scenarios cannot run here. */
class ChaosCliTest {
    @TempDir
    Path dir;

    private static String[] run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        picocli.CommandLine cl = ChaosCli.commandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new String[] {Integer.toString(code), out.toString(), err.toString()};
    }

    @Test
    void listNamesEveryScenarioTheIssueAsksForWithWhatItNeeds() {
        String[] r = run("list");
        assertEquals("0", r[0]);
        for (String name : List.of("node-kill", "node-hang", "node-drain", "rolling-restart", "node-join",
            "node-isolated", "mesh-split", "backend-kill", "backend-flap", "backend-freeze", "pool-change-node-kill",
            "pool-change-node-hang", "gossip-loss", "sync-loss", "seed-down-join", "router-flap")) {
            assertTrue(r[1].contains(name + " "), name + " listed:\n" + r[1]);
        }
        assertTrue(r[1].contains("needs root and the lab") && r[1].contains("a loopback mesh (no root)"), r[1]);
        assertEquals(Catalogue.all().size(), Catalogue.all().stream().map(Scenario::name).distinct().count(),
            "names are unique");
    }

    @Test
    void badUsageIsExitTwoWithOneLine() {
        String[] r = run("run", "--scenario", "node-explode");
        assertEquals("2", r[0]);
        assertTrue(r[2].startsWith("l4mesh chaos run: no scenario named 'node-explode' (one of: node-kill"), r[2]);
        assertEquals("2", run("run", "--target", "moon")[0]);
    }

    @Test
    void aRunOfScenariosThatCannotRunHereSkipsThemWithTheReasonAndFails() throws Exception {
        // router-flap needs the lab; on a loopback target it is skipped without building anything
        String[] r = run("run", "--target", "loopback", "--scenario", "router-flap", "--seed", "7", "--report",
            dir.toString());
        assertEquals("1", r[0], "nothing ran, so nothing was shown to hold");
        JsonNode report = new ObjectMapper().readTree(dir.resolve("report.json").toFile());
        assertEquals(7, report.path("seed").asLong());
        assertEquals("skipped", report.path("scenarios").get(0).path("verdict").asText());
        assertTrue(report.path("scenarios").get(0).path("reason").asText().startsWith("needs root and the lab"));
        assertTrue(dir.resolve("report.html").toFile().isFile());
    }
}
