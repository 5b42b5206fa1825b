package io.l4mesh.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestFactory;

/**
 * The chaos suite as a user runs it: {@code l4mesh chaos run} in a process of its own, then one check per scenario
 * of the report it wrote. The lab run (root, Linux, BIRD 2) takes every scenario, the flow-sync control included;
 * the loopback run takes the scenarios a laptop can run without root. Reports stay in
 * {@code chaos/target/chaos-report-*} (with the logs of any scenario that failed).
 *
 * <p>Run alone: {@code ./l4mesh test -Dsurefire.groups=chaos -pl chaos -am}.
 */
@Tag("slow")
@Tag("chaos")
class ChaosSuiteTest {
    /** The whole lab run stays well inside CI's budget: about 7 minutes here. */
    static final long LAB_TIMEOUT_MINUTES = 30;
    static final long LOOPBACK_TIMEOUT_MINUTES = 10;

    /** Runs {@code l4mesh chaos run ARGS} in a new JVM with this class path; returns the exit code. */
    static int chaos(long timeoutMinutes, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
            ChaosCli.class.getName(), "run"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        Thread pump = Thread.ofVirtual().start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(),
                StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    System.out.println(line);
                }
            } catch (Exception ignored) {
                // the run ended
            }
        });
        try {
            if (!p.waitFor(timeoutMinutes, TimeUnit.MINUTES)) {
                throw new AssertionError("l4mesh chaos run did not finish in " + timeoutMinutes + " minutes");
            }
        } finally {
            if (p.isAlive()) {
                p.descendants().forEach(ProcessHandle::destroy);   // its nodes and backends, by PID
                p.destroy();
                p.waitFor(30, TimeUnit.SECONDS);
            }
            pump.join(5000);
        }
        return p.exitValue();
    }

    /** One dynamic test per scenario in the report: it passed (or was skipped, when {@code skipOk}). */
    static Stream<DynamicTest> perScenario(JsonNode report) {
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode s : report.path("scenarios")) {
            tests.add(DynamicTest.dynamicTest(s.path("name").asText(), () -> {
                StringBuilder why = new StringBuilder(s.path("name").asText()).append(": ")
                    .append(s.path("reason").asText("")).append('\n');
                for (JsonNode i : s.path("invariants")) {
                    why.append("  ").append(i.path("held").asBoolean() ? "held   " : "BROKEN ")
                        .append(i.path("name").asText()).append(": ").append(i.path("value").asDouble()).append(' ')
                        .append(i.path("unit").asText()).append(" (bound ").append(i.path("bound").asText())
                        .append(") ").append(i.path("detail").asText()).append('\n');
                }
                assertEquals("pass", s.path("verdict").asText(), why.toString());
            }));
        }
        return tests.stream();
    }

    @TestFactory
    Stream<DynamicTest> everyScenarioHoldsInTheLab() throws Exception {
        String why = ChaosRunner.labUnavailable();
        Assumptions.assumeTrue(why == null, why);
        Path report = Path.of("target", "chaos-report-lab").toAbsolutePath();
        int code = chaos(LAB_TIMEOUT_MINUTES, "--target", "lab", "--seed", "20261202", "--report", report.toString());
        JsonNode r = new ObjectMapper().readTree(report.resolve("report.json").toFile());
        List<DynamicTest> tests = new ArrayList<>(perScenario(r).toList());
        tests.add(DynamicTest.dynamicTest("the flow-sync proof: 0 broken with sync, some without, same run", () -> {
            JsonNode with = scenario(r, "pool-change-node-kill");
            JsonNode without = scenario(r, "pool-change-node-kill (without flow sync)");
            assertEquals(0.0, invariant(with, "established connections unbroken").path("value").asDouble());
            JsonNode control = invariant(without, "without flow sync the same fault breaks connections");
            assertTrue(control.path("held").asBoolean() && control.path("value").asDouble() > 0, control.toString());
        }));
        tests.add(DynamicTest.dynamicTest("exit code 0: every invariant of every scenario held",
            () -> assertEquals(0, code)));
        return tests.stream();
    }

    @TestFactory
    Stream<DynamicTest> theLoopbackScenariosHoldWithoutRoot() throws Exception {
        Path report = Path.of("target", "chaos-report-loopback").toAbsolutePath();
        int code = chaos(LOOPBACK_TIMEOUT_MINUTES, "--target", "loopback", "--seed", "20261202", "--report",
            report.toString());
        JsonNode r = new ObjectMapper().readTree(report.resolve("report.json").toFile());
        List<DynamicTest> tests = new ArrayList<>();
        for (DynamicTest t : perScenario(r).toList()) {
            JsonNode s = scenario(r, t.getDisplayName());
            if (!s.path("verdict").asText().equals("skipped")) {
                tests.add(t);     // the lab-only scenarios are skipped on this target, with their reason
            }
        }
        assertTrue(tests.size() >= 6, "the loopback subset ran: " + tests.size());
        tests.add(DynamicTest.dynamicTest("exit code 0", () -> assertEquals(0, code)));
        return tests.stream();
    }

    static JsonNode scenario(JsonNode report, String name) {
        for (JsonNode s : report.path("scenarios")) {
            if (s.path("name").asText().equals(name)) {
                return s;
            }
        }
        throw new AssertionError("no scenario " + name + " in the report");
    }

    static JsonNode invariant(JsonNode scenario, String name) {
        for (JsonNode i : scenario.path("invariants")) {
            if (i.path("name").asText().equals(name)) {
                return i;
            }
        }
        throw new AssertionError("no invariant '" + name + "' in " + scenario.path("name").asText());
    }
}
