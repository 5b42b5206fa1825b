package io.l4mesh.node.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code l4mesh} run as a separate JVM process, for tests of signals and exit codes. Its stderr (the logfmt log) is
 * collected line by line. {@link #close} kills it (by its own PID) if it is still running.
 */
public final class NodeProcess implements AutoCloseable {
    private final Process process;
    private final List<String> stderr = new CopyOnWriteArrayList<>();
    private final List<String> stdout = new CopyOnWriteArrayList<>();

    private NodeProcess(Process process) {
        this.process = process;
        pump(new BufferedReader(new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8)), stderr);
        pump(new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8)), stdout);
    }

    /** Starts {@code l4mesh <args>} in a new JVM with this test's class path. */
    public static NodeProcess start(String... args) throws IOException {
        return new NodeProcess(new ProcessBuilder(io.l4mesh.node.cli.L4meshCli.childCommand(List.of(), List.of(args)))
            .start());
    }

    private static void pump(BufferedReader r, List<String> into) {
        Thread.ofVirtual().start(() -> {
            try (r) {
                String line;
                while ((line = r.readLine()) != null) {
                    into.add(line);
                }
            } catch (IOException ignored) {
                // The process ended.
            }
        });
    }

    public long pid() {
        return process.pid();
    }

    public Process process() {
        return process;
    }

    public List<String> stderr() {
        return stderr;
    }

    public List<String> stdout() {
        return stdout;
    }

    /** Waits for a log line containing {@code text} and returns it. */
    public String awaitLog(String text, Duration timeout) {
        String[] found = new String[1];
        Await.until(timeout, "log line with '" + text + "' (have: " + stderr + ")", () -> {
            for (String l : stderr) {
                if (l.contains(text)) {
                    found[0] = l;
                    return true;
                }
            }
            return !process.isAlive() && stderr.stream().noneMatch(x -> x.contains(text)) && fail(text);
        });
        return found[0];
    }

    private boolean fail(String text) {
        throw new AssertionError("process exited (" + process.exitValue() + ") before logging '" + text + "': " + stderr);
    }

    /** The value of {@code key=} in a logfmt line. */
    public static String field(String line, String key) {
        Matcher m = Pattern.compile("(?:^| )" + Pattern.quote(key) + "=(\\S+)").matcher(line);
        if (!m.find()) {
            throw new AssertionError("no " + key + "= in: " + line);
        }
        return m.group(1);
    }

    /** Sends a signal by name (TERM, HUP, ...) to this process only. */
    public void signal(String name) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).start();
        if (!kill.waitFor(5, TimeUnit.SECONDS) || kill.exitValue() != 0) {
            throw new IOException("kill -" + name + " " + process.pid() + " failed");
        }
    }

    /** Waits for the exit code. */
    public int awaitExit(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("process " + process.pid() + " still running after " + timeout);
        }
        return process.exitValue();
    }

    @Override
    public void close() {
        // A test that failed half-way: ask first (SIGTERM), so the process stops its children and removes its files.
        if (process.isAlive()) {
            process.destroy();
            try {
                process.waitFor(20, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        // Then children (the demo's nodes and backends), by their PIDs, so none is orphaned.
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        if (process.isAlive()) {
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
