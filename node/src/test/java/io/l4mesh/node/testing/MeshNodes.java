package io.l4mesh.node.testing;

import com.fasterxml.jackson.databind.JsonNode;
import io.l4mesh.node.admin.AdminClient;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Several {@code l4mesh run} processes forming a mesh on loopback, for tests. Closing stops them all by PID. */
public final class MeshNodes implements AutoCloseable {
    public static final String KEY = "6c346d6573682d746573742d6b65792d30303030303030303030303030303030";

    private final Path dir;
    private final List<Node> nodes = new ArrayList<>();

    /** One node: its process, gossip port and admin client. */
    public static final class Node {
        public final String id;
        public final int gossipPort;
        public final Path config;
        public NodeProcess process;
        public AdminClient api;
        public String admin;

        Node(String id, int gossipPort, Path config) {
            this.id = id;
            this.gossipPort = gossipPort;
            this.config = config;
        }

        public String gossip() {
            return "127.0.0.1:" + gossipPort;
        }

        /** GET path on this node's admin API, as JSON. */
        public JsonNode get(String path) {
            try {
                return api.get(path).json();
            } catch (IOException | InterruptedException e) {
                throw new IllegalStateException(e);
            }
        }

        /** Live members this node sees (itself included), or -1 if it does not answer. */
        public int members() {
            try {
                return get("/members").path("members").size();
            } catch (RuntimeException e) {
                return -1;
            }
        }

        /** This node's fingerprint of its first pool. */
        public String fingerprint() {
            return get("/status").path("pools").get(0).path("fingerprint").asText();
        }
    }

    public MeshNodes(Path dir) {
        this.dir = dir;
    }

    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static final java.util.concurrent.atomic.AtomicInteger NEXT_BASE =
        new java.util.concurrent.atomic.AtomicInteger(20_000 + new java.util.Random().nextInt(200) * 50);

    /**
     * The first of {@code n} consecutive free ports, below Linux's ephemeral range (32768+) so that no outgoing
     * connection can take one of them between this check and the bind.
     */
    public static int freePorts(int n) throws IOException {
        for (int attempt = 0; attempt < 200; attempt++) {
            int base = NEXT_BASE.getAndAdd(n + 1);
            if (base + n >= 32_000) {
                NEXT_BASE.set(20_000);
                continue;
            }
            boolean ok = true;
            for (int p = base; p < base + n && ok; p++) {
                try (ServerSocket s = new ServerSocket()) {
                    s.bind(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), p));
                } catch (IOException e) {
                    ok = false;
                }
            }
            if (ok) {
                return base;
            }
        }
        throw new IOException("no run of " + n + " free ports found");
    }

    /** Writes a node's config; {@code seeds} are gossip ports; {@code poolYaml} is the pool's body. */
    public Node define(String id, int gossipPort, List<Integer> seeds, String poolYaml, String key) throws IOException {
        return define(id, gossipPort, seeds, poolYaml, key, "");
    }

    /** As {@link #define(String, int, List, String, String)}, with more pools ({@code extraPools}: YAML). */
    public Node define(String id, int gossipPort, List<Integer> seeds, String poolYaml, String key, String extraPools)
        throws IOException {
        Path keyFile = dir.resolve("key-" + id);
        Files.writeString(keyFile, key);
        StringBuilder s = new StringBuilder();
        for (int p : seeds) {
            s.append(s.isEmpty() ? "" : ", ").append("127.0.0.1:").append(p);
        }
        Path cfg = dir.resolve(id + ".yaml");
        Files.writeString(cfg, """
            node: {id: %s, dataDir: data-%s}
            admin: {bind: 127.0.0.1:0}
            listeners: [{name: t, bind: 127.0.0.1:0, pool: p}]
            pools:
              p:
            %s
            %s
            membership:
              bind: 127.0.0.1:%d
              seeds: [%s]
              keyFile: %s
              faultInjection: true
            """.formatted(id, id, poolYaml.indent(4), extraPools.indent(2), gossipPort, s, keyFile));
        Node n = new Node(id, gossipPort, cfg);
        nodes.add(n);
        return n;
    }

    /** Starts (or restarts) a defined node and waits until its admin API answers. */
    public Node start(Node n) throws Exception {
        n.process = NodeProcess.start("run", "--config", n.config.toString());
        String line = n.process.awaitLog("event=node.started", Duration.ofSeconds(60));
        n.admin = NodeProcess.field(line, "admin");
        n.api = new AdminClient(n.admin);
        return n;
    }

    public List<Node> nodes() {
        return nodes;
    }

    @Override
    public void close() {
        for (Node n : nodes) {
            if (n.process != null) {
                n.process.close();
            }
        }
    }
}
