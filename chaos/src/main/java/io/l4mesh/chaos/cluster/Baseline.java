package io.l4mesh.chaos.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.l4mesh.node.admin.AdminClient;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;

/**
 * What both clusters do the same way through the nodes' admin APIs: read a node's view of the pool, put the pool
 * back to its baseline, clear fault seams, and wait until every node agrees.
 */
public final class Baseline {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Baseline() {
    }

    /** One backend as a node reports it. */
    public record BackendView(String id, int weight, boolean draining, String health, String localHealth,
                              boolean eligible) {
    }

    /** A node's view of the pool: its backends and its Maglev table's fingerprint. */
    public record PoolView(String fingerprint, Map<String, BackendView> backends) {
        public int eligible() {
            return (int) backends.values().stream().filter(BackendView::eligible).count();
        }
    }

    /** Node {@code n}'s view of {@code pool}, or null when it does not answer. */
    public static PoolView pool(Cluster c, int n) {
        try {
            AdminClient.Response r = c.admin(n, "GET", "/pools/" + c.pool(), null);
            if (!r.ok()) {
                return null;
            }
            JsonNode p = JSON.readTree(r.body());
            Map<String, BackendView> bs = new LinkedHashMap<>();
            for (JsonNode b : p.path("backends")) {
                bs.put(b.path("address").asText(), new BackendView(b.path("address").asText(),
                    b.path("weight").asInt(), b.path("draining").asBoolean(), b.path("health").asText(),
                    b.path("localHealth").asText(), b.path("eligible").asBoolean()));
            }
            return new PoolView(p.path("fingerprint").asText(), bs);
        } catch (Exception e) {
            return null;
        }
    }

    /** Live members node {@code n} sees (itself included), or -1 when it does not answer. */
    public static int members(Cluster c, int n) {
        try {
            AdminClient.Response r = c.admin(n, "GET", "/members", null);
            return r.ok() ? JSON.readTree(r.body()).path("members").size() : -1;
        } catch (Exception e) {
            return -1;
        }
    }

    /** Whether node {@code n}'s {@code /healthz} answers 200. */
    public static boolean healthy(Cluster c, int n) {
        try {
            return c.admin(n, "GET", "/healthz", null).status() == 200;
        } catch (Exception e) {
            return false;
        }
    }

    /** The fingerprints the running nodes among {@code nodes} report (one entry per node that answered). */
    public static Map<Integer, String> fingerprints(Cluster c, List<Integer> nodes) {
        Map<Integer, String> out = new LinkedHashMap<>();
        for (int n : nodes) {
            PoolView v = c.running(n) ? pool(c, n) : null;
            if (v != null) {
                out.put(n, v.fingerprint());
            }
        }
        return out;
    }

    /**
     * Puts the pool back to the baseline: the baseline backends with weight 1, not draining, and no others. The
     * changes go to one running node (the mesh carries them to the others).
     */
    public static void restorePool(Cluster c, int via) throws Exception {
        PoolView v = pool(c, via);
        if (v == null) {
            throw new IOException("node " + via + " does not answer");
        }
        Set<String> wanted = new HashSet<>();
        for (int j : c.baselinePool()) {
            wanted.add(c.backendId(j));
        }
        for (String id : v.backends().keySet()) {
            if (!wanted.contains(id)) {
                call(c, via, "DELETE", "/pools/" + c.pool() + "/backends/" + AdminClient.segment(id), null);
            }
        }
        for (String id : wanted) {
            BackendView b = v.backends().get(id);
            if (b == null) {
                call(c, via, "POST", "/pools/" + c.pool() + "/backends", "{\"address\": \"" + id + "\"}");
                continue;
            }
            if (b.weight() != 1) {
                call(c, via, "PUT", "/pools/" + c.pool() + "/backends/" + AdminClient.segment(id) + "/weight",
                    "{\"weight\": 1}");
            }
            if (b.draining()) {
                call(c, via, "POST", "/pools/" + c.pool() + "/backends/" + AdminClient.segment(id) + "/undrain", null);
            }
        }
    }

    private static void call(Cluster c, int n, String method, String path, String body) throws Exception {
        AdminClient.Response r = c.admin(n, method, path, body);
        if (!r.ok()) {
            throw new IOException(method + " " + path + " on node " + n + ": " + r.status() + " " + r.error());
        }
    }

    /** Turns off every fault seam on every running node (a node without fault injection answers 404: fine). */
    public static void clearFaults(Cluster c, List<Integer> nodes) {
        for (int n : nodes) {
            if (c.running(n)) {
                try {
                    c.admin(n, "DELETE", "/fault", null);
                } catch (Exception ignored) {
                    // a node that does not answer has no seam to clear now; restore waits for it anyway
                }
            }
        }
    }

    /**
     * Whether the nodes agree on the baseline: each answers, sees all of them as members, reports the same
     * fingerprint, and has every baseline backend in its pool and eligible.
     */
    public static boolean atBaseline(Cluster c, List<Integer> nodes) {
        Set<String> fps = new HashSet<>();
        for (int n : nodes) {
            PoolView v = pool(c, n);
            if (v == null || members(c, n) != nodes.size() || v.backends().size() != c.baselinePool().size()
                || v.eligible() != c.baselinePool().size()) {
                return false;
            }
            fps.add(v.fingerprint());
        }
        return fps.size() == 1;
    }

    /**
     * Waits until the baseline nodes answer, clears their fault seams, waits for one mesh of them, puts the pool back
     * to the baseline and waits until every node routes it with one fingerprint.
     */
    public static void awaitBaseline(Cluster c, Duration timeout) throws Exception {
        List<Integer> nodes = c.baselineNodes();
        await(timeout, "every node answers", () -> nodes.stream().allMatch(n -> pool(c, n) != null));
        clearFaults(c, nodes);
        await(timeout, "one mesh of " + nodes.size(),
            () -> nodes.stream().allMatch(n -> members(c, n) == nodes.size()));
        restorePool(c, nodes.get(0));
        await(timeout, "the baseline pool on every node, all up, one fingerprint", () -> atBaseline(c, nodes));
    }

    /** Waits until {@code condition} holds; throws with {@code what} after {@code timeout}. */
    public static void await(Duration timeout, String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("timed out after " + timeout.toSeconds() + " s waiting for: " + what);
            }
            Thread.sleep(50);
        }
    }

    /** Resident memory of a process in bytes, from {@code /proc/PID/status} (0 when gone). */
    public static long rss(long pid) {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc", Long.toString(pid),
                "status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (Exception ignored) {
            // gone
        }
        return 0;
    }

    /**
     * Whether a demo backend at {@code address} answers a line the way the health check expects (a fresh JVM
     * answers its first lines slowly; this waits for a warm one).
     */
    public static boolean answers(java.net.InetSocketAddress address) {
        try (java.net.Socket s = new java.net.Socket()) {
            s.connect(address, 500);
            s.setSoTimeout(500);
            s.getOutputStream().write("health\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            StringBuilder line = new StringBuilder();
            int ch;
            while ((ch = s.getInputStream().read()) >= 0 && ch != '\n') {
                line.append((char) ch);
            }
            return line.toString().endsWith(" health");
        } catch (IOException e) {
            return false;
        }
    }

    /** Exchanges {@code n} lines with a freshly started demo backend, so its first answers are not its slowest. */
    public static void warm(java.net.InetSocketAddress address, int n) {
        for (int i = 0; i < n; i++) {
            answers(address);
        }
    }

    /** Node ids 1..n. */
    public static List<Integer> range(int from, int to) {
        List<Integer> l = new ArrayList<>();
        for (int i = from; i <= to; i++) {
            l.add(i);
        }
        return l;
    }
}
