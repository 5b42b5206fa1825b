package io.l4mesh.chaos.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code l4mesh lab}: each subcommand's own help, usage errors, and what {@code lab up} tells a new user. */
class LabCommandTest {
    private static String[] run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        picocli.CommandLine cl = LabCommand.commandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new String[] {Integer.toString(code), out.toString(), err.toString()};
    }

    @Test
    void eachSubcommandHasItsOwnHelp() {
        String lab = run("--help")[1];
        String up = run("up", "--help")[1];
        assertNotEquals(lab, up);
        for (String option : List.of("--nodes", "--backends", "--pool-backends", "--sync", "--spare-nodes",
            "--fault-injection", "--dir")) {
            assertTrue(up.contains(option), "lab up --help lists " + option + ":\n" + up);
        }
        assertTrue(lab.contains("up") && lab.contains("down") && lab.contains("status"), lab);
        String down = run("down", "--help")[1];
        assertTrue(down.contains("--dir") && !down.contains("--nodes"), down);
    }

    @Test
    void badShapesAreUsageErrors() {
        assertEquals("2", run("up", "--nodes", "9")[0]);
        assertEquals("2", run("up", "--backends", "2", "--pool-backends", "3")[0]);
        assertEquals("2", run("up", "--sync", "maybe")[0]);
        assertEquals("2", run("sideways")[0]);
    }

    @Test
    void upSaysHowToAddTheBackendsLeftOutOfThePool() {
        Map<String, Long> procs = new LinkedHashMap<>();
        procs.put("node-1", 101L);
        procs.put("backend-3", 103L);
        Lab.State s = new Lab.State(List.of("l4lab-r", "l4lab-n1"), procs, 1, 3, 1, 1, true, 0, false);
        String guide = LabCommand.guide(new Lab(Path.of("/tmp/l4mesh-lab")), s);
        assertTrue(guide.contains("ip netns exec l4lab-n1 "), guide);
        assertTrue(guide.contains("backend add web 198.18.42.2:8080"), guide);
        assertTrue(guide.contains("backend add web 198.18.43.2:8080"), guide);
        assertTrue(!guide.contains("198.18.41.2:8080"), "backend 1 is in the pool already:\n" + guide);
        assertTrue(guide.contains("backend-3") && guide.contains("103") && guide.contains("l4lab-b3"), guide);
    }
}
