package io.l4mesh.chaos.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.l4mesh.chaos.lab.LabTest;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code l4mesh bench packet} end to end, short: the lab (router, one node in packet mode, one backend, one client)
 * carries small UDP packets, one bulk TCP transfer and small UDP packets sent in runs (UDP segmentation) by kernel
 * forwarding and through the node, two rounds each. It holds that packets and TCP bytes arrive on both paths in every
 * round, that the node reads the runs as UDP super-packets, that the node's CPU per packet is measured and the machine printed; how fast is the
 * benchmark's business, not this test's. Root and BIRD 2 only (skipped with the reason elsewhere).
 */
@Tag("slow")
class PacketBenchTest {
    @Test
    void bothPathsDeliverInEveryRoundAndTheNodeCpuPerPacketIsMeasured(@TempDir Path dir) throws Exception {
        LabTest.assumeLab();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        picocli.CommandLine cl = BenchCommand.commandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute("packet", "--seconds", "1", "--rounds", "2", "--json", "--dir",
            dir.resolve("lab").toString());
        assertEquals(0, code, err.toString());
        JsonNode root = new ObjectMapper().readTree(out.toString());
        assertTrue(root.get("machine").get("bird").asText().matches("\\d+\\.\\d+.*"), root.toString());
        for (String path : new String[] {"kernel", "l4mesh"}) {
            JsonNode pps = root.get(path).get("deliveredPps");
            assertEquals(2, pps.get("rounds").size(), path + ": " + pps);
            assertTrue(pps.get("min").asDouble() > 0, path + " delivered nothing in a round: " + pps);
            assertTrue(root.get(path).get("delivered").asLong() <= root.get(path).get("sent").asLong(), root.toString());
            JsonNode bulk = root.get(path).get("bulkTcpGbitPerSecond");
            assertEquals(2, bulk.get("rounds").size(), path + ": " + bulk);
            assertTrue(bulk.get("min").asDouble() > 0, path + " carried no TCP bytes in a round: " + bulk);
        }
        assertTrue(root.get("l4mesh").get("cpuNanosPerPacket").get("median").asDouble() > 0, root.toString());
        assertTrue(!root.get("kernel").has("cpuNanosPerPacket"), root.toString());
        // the TUN device's offloads hand the node the bulk transfer as super-packets, cut by the node itself
        assertTrue(root.get("l4mesh").get("bulkTcpOffloadedShare").get("median").asDouble() > 0.5, root.toString());
        // and a stream of small packets of one flow leaves in UDP GSO sends
        assertTrue(root.get("l4mesh").get("udpGsoShare").get("median").asDouble() > 0.5, root.toString());
        for (String path : new String[] {"kernel", "l4mesh"}) {
            JsonNode merged = root.get(path).get("merged");
            assertTrue(merged.get("deliveredPps").get("min").asDouble() > 0, path + " delivered no run: " + merged);
            assertTrue(merged.get("delivered").asLong() <= merged.get("sent").asLong(), merged.toString());
        }
        // runs sent with UDP segmentation reach the node's TUN device whole (Linux 6.2 and later) and it cuts them
        if (kernelAtLeast(6, 2)) {
            assertTrue(root.get("l4mesh").get("merged").get("superPacketShare").get("median").asDouble() > 0.5,
                root.toString());
        }
        assertTrue(root.get("l4meshToKernel").asDouble() > 0, root.toString());
        assertTrue(root.get("mergedL4meshToKernel").asDouble() > 0, root.toString());
        assertTrue(!Files.exists(Path.of("/run/netns/l4lab-r")), "the lab is taken down afterwards");
    }

    private static boolean kernelAtLeast(int major, int minor) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+)\\.(\\d+).*")
            .matcher(System.getProperty("os.version"));
        return m.matches() && (Integer.parseInt(m.group(1)) > major
            || Integer.parseInt(m.group(1)) == major && Integer.parseInt(m.group(2)) >= minor);
    }
}
