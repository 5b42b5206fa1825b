package io.l4mesh.chaos.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@code l4mesh bench proxy} end to end, short: every system measured in two rounds through real iperf3, wrk, HAProxy
 * and nginx processes. It holds that the figures come out (one per round, the median between the rounds' lowest and
 * highest) in the rounds' order, with the machine they ran on; how fast is the benchmark's business, not this test's.
 */
@Tag("slow")
class ProxyBenchTest {
    @Test
    void twoRoundsOfEverySystemGiveEveryFigureWithItsSpreadAndTheMachine() throws Exception {
        List<String> missing = ProxyBench.missing(true);
        Assumptions.assumeTrue(missing.isEmpty(), "the proxy benchmark needs " + missing);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        picocli.CommandLine cl = BenchCommand.commandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute("proxy", "--seconds", "1", "--rounds", "2", "--connections", "10", "--json");
        assertEquals(0, code, err.toString());
        JsonNode root = new ObjectMapper().readTree(out.toString());
        assertEquals(2, root.get("rounds").asInt());
        assertTrue(root.get("machine").get("cores").asInt() >= 1, root.toString());
        assertTrue(root.get("machine").get("haproxy").asText().matches("\\d+\\.\\d+.*"), root.toString());
        for (String system : List.of("direct", "l4mesh", "haproxy", "nginx")) {
            JsonNode s = root.get("systems").get(system);
            for (String figure : List.of("gbitPerSecond", "connectionsPerSecond", "requestsPerSecond", "p99Millis")) {
                JsonNode f = s.get(figure);
                assertEquals(2, f.get("rounds").size(), system + " " + figure + ": " + f);
                double min = f.get("min").asDouble();
                double max = f.get("max").asDouble();
                double median = f.get("median").asDouble();
                assertTrue(min > 0 && min <= median && median <= max, system + " " + figure + ": " + f);
            }
        }
        for (String ratio : List.of("throughput", "connectionsPerSecond", "requestsPerSecond", "p99Latency")) {
            assertTrue(root.get("l4meshToBestPeer").get(ratio).asDouble() > 0, root.toString());
        }
        String progress = err.toString();
        assertTrue(progress.contains("round 1 of 2: direct") && progress.contains("round 2 of 2: nginx"), progress);
        assertTrue(progress.indexOf("round 1 of 2: nginx") < progress.indexOf("round 2 of 2: direct"),
            "the systems take turns round by round:\n" + progress);
    }
}
