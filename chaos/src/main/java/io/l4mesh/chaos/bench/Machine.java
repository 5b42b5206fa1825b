package io.l4mesh.chaos.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What a benchmark ran on, printed with its figures: cores, CPU, kernel, JDK, and the peers' versions. */
public final class Machine {
    private static final Pattern VERSION = Pattern.compile("\\d+\\.\\d+[\\w.+~-]*");

    private Machine() {
    }

    /** Key facts of this machine, in a stable order; {@code tools} are asked for their version. */
    public static Map<String, String> describe(List<String> tools) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("cores", Integer.toString(Runtime.getRuntime().availableProcessors()));
        m.put("cpu", cpuModel());
        m.put("kernel", read("/proc/sys/kernel/osrelease"));
        m.put("jdk", Runtime.version() + " (" + System.getProperty("java.vm.name", "?") + ")");
        for (String tool : tools) {
            m.put(tool, version(tool));
        }
        return m;
    }

    /** One line: "cores 2, cpu ..., kernel ..., jdk ...". */
    public static String line(Map<String, String> m) {
        StringBuilder sb = new StringBuilder();
        m.forEach((k, v) -> sb.append(sb.isEmpty() ? "" : ", ").append(k).append(' ').append(v));
        return sb.toString();
    }

    private static String cpuModel() {
        String info = read("/proc/cpuinfo");
        return info.lines().filter(l -> l.startsWith("model name")).map(l -> l.substring(l.indexOf(':') + 1).strip())
            .findFirst().orElse("?");
    }

    private static String read(String path) {
        try {
            return Files.readString(Path.of(path)).strip();
        } catch (IOException e) {
            return "?";
        }
    }

    /**
     * The version a tool prints for its version flag ("2.6.12-1+deb12u4" out of "HAProxy version 2.6.12-1+deb12u4
     * 2026/10/17 - https://haproxy.org/"), its first line when no version number is in it, "absent" or "?" (a
     * missing tool is not an error here).
     */
    static String version(String tool) {
        String exe = ProxyBench.which(tool);
        if (exe == null) {
            return "absent";
        }
        List<String> cmd = List.of(exe, tool.equals("wrk") || tool.equals("bird") ? "--version" : "-v");
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            byte[] out = p.getInputStream().readNBytes(4096);
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
            String first = new String(out, StandardCharsets.UTF_8).lines().findFirst().orElse("?").strip();
            Matcher v = VERSION.matcher(first);
            return v.find() ? v.group() : first.length() > 80 ? first.substring(0, 80) : first;
        } catch (IOException e) {
            return "?";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "?";
        }
    }
}
