package io.l4mesh.node.packet;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the host's network tools ({@code ip}, {@code kill}, ...) and turns a failure into one-line errors. */
public final class Commands {
    static final long TIMEOUT_SECONDS = 30;

    private Commands() {
    }

    /** Runs {@code cmd}; returns its output, or throws with the command and its output on failure. */
    public static String run(List<String> cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        try {
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + ": " + out.strip());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(String.join(" ", cmd) + ": interrupted");
        }
        return out;
    }

    /** Runs {@code ip ARGS}. */
    public static String ip(String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("ip"));
        cmd.addAll(List.of(args));
        return run(cmd);
    }

    /** Runs {@code ip ARGS}; false instead of an exception when it fails. */
    public static boolean tryIp(String... args) {
        try {
            ip(args);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Runs {@code cmd}; false instead of an exception when it fails. */
    public static boolean tryRun(List<String> cmd) {
        try {
            run(cmd);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Deletes a directory and what it holds (a missing one is fine). */
    public static void deleteTree(java.nio.file.Path dir) throws IOException {
        if (!java.nio.file.Files.exists(dir)) {
            return;
        }
        try (var walk = java.nio.file.Files.walk(dir)) {
            for (java.nio.file.Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                java.nio.file.Files.delete(p);
            }
        }
    }
}
