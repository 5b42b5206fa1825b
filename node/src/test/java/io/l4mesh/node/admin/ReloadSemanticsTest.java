package io.l4mesh.node.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.l4mesh.node.Node;
import io.l4mesh.node.config.ConfigLoader;
import io.l4mesh.node.testing.Await;
import io.l4mesh.node.testing.MeshNodes;
import io.l4mesh.node.testing.TestNodes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * One reload semantics, alone or in a mesh (README "Reload"): after a reload every pool the file names has exactly
 * the file's backends, weights and drain flags (changes made through the API since are replaced), pools the file adds
 * are created (in a mesh: in step with what the mesh holds), pools it drops are gone, and a file that does not
 * validate changes nothing. In a mesh the reload is a change like any other: every node applies it, and reloading
 * the same file on the next node writes nothing.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class ReloadSemanticsTest {
    private static final String A = "127.0.0.1:41001";
    private static final String B = "127.0.0.1:41002";
    private static final String C = "127.0.0.1:41003";
    private static final String D = "127.0.0.1:41004";
    private static final String E = "127.0.0.1:41005";

    @TempDir
    Path dir;

    /** The config file of node {@code id}: {@code pools} is the YAML body under {@code pools:}. */
    private String yaml(String id, int gossip, Integer seed, String listeners, String pools) throws Exception {
        String mesh = "";
        if (gossip > 0) {
            Path key = dir.resolve("key");
            Files.writeString(key, MeshNodes.KEY);
            mesh = "membership: {bind: 127.0.0.1:%d, keyFile: %s%s}\n".formatted(gossip, key,
                seed == null ? "" : ", seeds: [127.0.0.1:" + seed + "]");
        }
        return """
            node: {id: %s, dataDir: %s}
            admin: {bind: 127.0.0.1:0}
            listeners:
            %s
            pools:
            %s
            """.formatted(id, dir.resolve("data-" + id), listeners.indent(2), pools.indent(2)) + mesh;
    }

    private static final String FIRST_LISTENERS = "- {name: t, bind: 127.0.0.1:0, pool: p}";
    private static final String FIRST_POOLS = "p: {backends: [" + A + ", " + B + "]}";
    private static final String EDITED_LISTENERS = FIRST_LISTENERS + "\n- {name: t2, bind: 127.0.0.1:0, pool: q}";
    private static final String EDITED_POOLS = "p: {backends: [" + A + ", " + D + "]}\nq: {backends: [" + E + "]}";

    /** A pool's backends as "address weight draining", or null when the node has no such pool. */
    private static Map<String, String> pool(Node n, String name) {
        return n.status().pools().stream().filter(p -> p.name().equals(name)).findFirst().map(p -> {
            Map<String, String> m = new TreeMap<>();
            p.backends().forEach(b -> m.put(b.address(), b.weight() + (b.draining() ? " draining" : "")));
            return m;
        }).orElse(null);
    }

    private static long ledger(Node n) {
        try {
            return n.call(() -> n.mesh().ledgerDigest());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static AdminClient.Response send(Node n, String method, String path, Object body) throws Exception {
        return new AdminClient(TestNodes.admin(n)).send(method, path, body);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"standalone", "mesh"})
    void theFileIsTheTruthForThePoolsItNames(String mode) throws Exception {
        boolean mesh = mode.equals("mesh");
        int g1 = mesh ? MeshNodes.freePorts(1) : 0;
        int g2 = mesh ? MeshNodes.freePorts(1) : 0;
        Path f1 = dir.resolve("n1.yaml");
        Path f2 = dir.resolve("n2.yaml");
        Files.writeString(f1, yaml("n1", g1, null, FIRST_LISTENERS, FIRST_POOLS));
        Files.writeString(f2, yaml("n2", g2, g1, FIRST_LISTENERS, FIRST_POOLS));
        List<Node> nodes = new ArrayList<>();
        try {
            Node n1 = Node.start(ConfigLoader.load(f1));
            nodes.add(n1);
            Node n2 = null;
            if (mesh) {
                n2 = Node.start(ConfigLoader.load(f2));
                nodes.add(n2);
                Node two = n2;
                Await.until(Duration.ofSeconds(30), "two members", () -> n1.mesh().members().size() == 2
                    && two.mesh().members().size() == 2);
            }

            // Changes through the API: one added, one re-weighted, one drained.
            assertEquals(201, send(n1, "POST", "/pools/p/backends", Map.of("address", C)).status());
            assertEquals(200, send(n1, "PUT", "/pools/p/backends/" + A + "/weight", Map.of("weight", 5)).status());
            assertEquals(200, send(n1, "POST", "/pools/p/backends/" + B + "/drain", null).status());
            Map<String, String> changed = Map.of(A, "5", B, "1 draining", C, "1");
            assertEquals(changed, pool(n1, "p"));
            if (mesh) {
                Node two = n2;
                Await.until(Duration.ofSeconds(20), "n2 has the API's changes", () -> changed.equals(pool(two, "p")));
            }

            // The edited file: p is A (weight 1) and D; a new pool q behind a new listener.
            Files.writeString(f1, yaml("n1", g1, null, EDITED_LISTENERS, EDITED_POOLS));
            AdminClient.Response r = send(n1, "POST", "/reload", null);
            assertEquals(200, r.status(), r.body());
            Map<String, String> file = Map.of(A, "1", D, "1");
            assertEquals(file, pool(n1, "p"), "p is the file's, the API's changes replaced");
            assertEquals(Map.of(E, "1"), pool(n1, "q"), "q created from the file");
            if (mesh) {
                Node two = n2;
                Await.until(Duration.ofSeconds(20), "n2 applies n1's reload", () -> file.equals(pool(two, "p")));
                // n2 has no pool q yet: the mesh's entries for it show as divergence until n2 has it
                Await.until(Duration.ofSeconds(20), "n2 lists q as divergence",
                    () -> two.mesh().divergence().containsKey("q/" + E));
                Files.writeString(f2, yaml("n2", g2, g1, EDITED_LISTENERS, EDITED_POOLS));
                Await.until(Duration.ofSeconds(20), "n2's ledger is n1's", () -> ledger(n1) == ledger(two));
                long digestBefore = n1.call(() -> n1.mesh().ledgerDigest());
                assertEquals(200, send(n2, "POST", "/reload", null).status());
                assertEquals(file, pool(n2, "p"));
                assertEquals(Map.of(E, "1"), pool(n2, "q"), "q created on n2, in step with the mesh");
                assertTrue(n2.mesh().divergence().isEmpty(), "no divergence: " + n2.mesh().divergence());
                assertEquals(digestBefore, (long) two.call(() -> two.mesh().ledgerDigest()),
                    "the same file reloaded on n2 wrote nothing: its ledger is still n1's");
            }

            // A file that does not validate: 400, nothing changes.
            String good = Files.readString(f1);
            Files.writeString(f1, good.replace(D, "db:abc"));
            AdminClient.Response bad = send(n1, "POST", "/reload", null);
            assertEquals(400, bad.status(), bad.body());
            assertTrue(bad.error().endsWith("(nothing changed)"), bad.error());
            assertEquals(file, pool(n1, "p"));

            // The file drops q and its listener: q is gone from this node.
            Files.writeString(f1, yaml("n1", g1, null, FIRST_LISTENERS, "p: {backends: [" + A + ", " + D + "]}"));
            assertEquals(200, send(n1, "POST", "/reload", null).status());
            assertEquals(null, pool(n1, "q"));
            assertFalse(n1.status().listeners().stream().anyMatch(l -> l.name().equals("t2")));
            assertEquals(file, pool(n1, "p"));
        } finally {
            for (Node n : nodes) {
                n.close();
            }
        }
    }
}
