package io.l4mesh.chaos;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@code l4mesh chaos run} stopped by SIGTERM (or Ctrl-C) in the middle of a run takes down the nodes and backends
 * it started: none of its child processes outlives it.
 */
@Tag("slow")
class ChaosInterruptTest {
    @Test
    void sigtermMidRunLeavesNoChildProcessBehind() throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
            ChaosCli.class.getName(), "run", "--target", "loopback", "--scenario", "backend-kill"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        CompletableFuture<Void> warming = new CompletableFuture<>();
        StringBuilder seen = new StringBuilder();
        Thread pump = Thread.ofVirtual().start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(),
                StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    synchronized (seen) {
                        seen.append(line).append('\n');
                    }
                    if (line.contains("warming up")) {
                        warming.complete(null);   // the mesh is up: nodes and backends are running
                    }
                }
            } catch (Exception ignored) {
                // the run ended
            }
        });
        List<ProcessHandle> children = List.of();
        try {
            warming.get(3, TimeUnit.MINUTES);
            children = p.descendants().toList();
            assertTrue(children.size() >= 7, "3 nodes and 4 backends at least: " + children.size() + "\n" + seen);
            p.destroy();   // SIGTERM
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the run ends after SIGTERM");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            while (children.stream().anyMatch(ProcessHandle::isAlive) && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            List<Long> alive = children.stream().filter(ProcessHandle::isAlive).map(ProcessHandle::pid).toList();
            assertTrue(alive.isEmpty(), "left running after SIGTERM: " + alive + "\n" + seen);
        } finally {
            children.forEach(ProcessHandle::destroyForcibly);   // by PID, whatever the outcome
            p.destroyForcibly();
            pump.join(5000);
        }
    }
}
