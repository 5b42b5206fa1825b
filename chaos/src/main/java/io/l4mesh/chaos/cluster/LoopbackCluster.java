package io.l4mesh.chaos.cluster;

import io.l4mesh.chaos.fault.CrusherProxy;
import io.l4mesh.chaos.fault.InPathProxy;
import io.l4mesh.chaos.fault.ToxiproxyDriver;
import io.l4mesh.node.admin.AdminClient;
import io.l4mesh.node.cli.L4meshCli;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A chaos cluster that needs no root: three proxy-mode nodes forming one mesh on 127.0.0.1 (like {@code l4mesh
 * demo}), each its own process, in front of four demo backends (three in the pool). Partitions and lossy links use
 * the nodes' fault seams; backend faults use real processes and an in-path proxy. Clients connect to the nodes'
 * listeners directly (there is no router), connection {@code i} to node {@code i mod 3}.
 */
public final class LoopbackCluster implements Cluster {
    static final int NODES = 3;
    static final int BACKENDS = 4;
    static final int POOL = 3;
    private static final long MEMORY_BOUND = 512L << 20;
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private final Path dir;
    private final int base;
    private final AdminClient[] admins = new AdminClient[NODES + 1];
    private final Map<String, Process> processes = new ConcurrentHashMap<>();
    private final Map<Integer, Set<String>> blocked = new ConcurrentHashMap<>();
    private final ToxiproxyDriver toxiproxy;
    private volatile Set<Integer> serving = Set.of();
    private volatile java.util.function.Consumer<Set<Integer>> servingListener;
    private volatile boolean running = true;
    private final Thread watcher;

    /** Ports from {@code base}: listeners, admins, gossip, backends; then spare ports for moved backends. */
    private int listenerPort(int n) {
        return base + n - 1;
    }

    private int adminPort(int n) {
        return base + 10 + n - 1;
    }

    private int gossipPort(int n) {
        return base + 20 + n - 1;
    }

    private int backendPort(int j) {
        return base + 30 + j - 1;
    }

    private int movedPort(int j) {
        return base + 40 + j - 1;
    }

    private LoopbackCluster(Path dir, int base, ToxiproxyDriver toxiproxy) {
        this.dir = dir;
        this.base = base;
        this.toxiproxy = toxiproxy;
        for (int n = 1; n <= NODES; n++) {
            admins[n] = new AdminClient("127.0.0.1:" + adminPort(n));
        }
        this.watcher = Thread.ofPlatform().daemon().name("chaos-healthz-watch").start(this::watch);
    }

    /**
     * Starts the nodes and backends in {@code dir} and waits until they form one mesh with the baseline pool.
     *
     * @param toxiproxy a Toxiproxy driver for backend faults, or null for netcrusher
     */
    public static LoopbackCluster start(Path dir, ToxiproxyDriver toxiproxy) throws Exception {
        Files.createDirectories(dir);
        LoopbackCluster c = new LoopbackCluster(dir, freeBlock(50), toxiproxy);
        try {
            c.writeConfigs();
            for (int j = 1; j <= BACKENDS; j++) {
                c.startBackend(j);
            }
            for (int n = 1; n <= NODES; n++) {
                c.start(n);
            }
            c.awaitBaseline();
        } catch (Exception e) {
            c.close();
            throw e;
        }
        return c;
    }

    /** The first of {@code n} consecutive ports free for TCP and UDP on loopback, below the ephemeral range. */
    static int freeBlock(int n) throws IOException {
        SecureRandom r = new SecureRandom();
        for (int attempt = 0; attempt < 100; attempt++) {
            int b = 20_000 + r.nextInt(11_000);
            boolean ok = true;
            for (int p = b; p < b + n && ok; p++) {
                try (ServerSocket s = new ServerSocket(); DatagramSocket d = new DatagramSocket(null)) {
                    s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), p));
                    d.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), p));
                } catch (IOException e) {
                    ok = false;
                }
            }
            if (ok) {
                return b;
            }
        }
        throw new IOException("no block of " + n + " free ports on loopback");
    }

    private void writeConfigs() throws IOException {
        byte[] secret = new byte[32];
        new SecureRandom().nextBytes(secret);
        Path key = dir.resolve("cluster.key");
        Files.writeString(key, HexFormat.of().formatHex(secret));
        StringBuilder pool = new StringBuilder();
        for (int j = 1; j <= POOL; j++) {
            pool.append(pool.isEmpty() ? "" : ", ").append(backendId(j));
        }
        for (int n = 1; n <= NODES; n++) {
            StringBuilder seeds = new StringBuilder();
            for (int k = 1; k <= NODES; k++) {
                if (k != n) {
                    seeds.append(seeds.isEmpty() ? "" : ", ").append(gossipAddress(k));
                }
            }
            Files.writeString(dir.resolve("node-" + n + ".yaml"), """
                node: {id: chaos-n%d, dataDir: %s}
                admin: {bind: 127.0.0.1:%d}
                runtime: {shutdownGrace: 2s}
                listeners:
                  - {name: tcp, bind: "127.0.0.1:%d", protocol: tcp, pool: %s}
                  - {name: udp, bind: "127.0.0.1:%d", protocol: udp, pool: %s}
                pools:
                  %s:
                    backends: [%s]
                    healthCheck: {interval: 500ms, timeout: 450ms, rise: 2, fall: 2, send: "health\\n",
                                  expect: " health"}
                membership:
                  bind: %s
                  seeds: [%s]
                  keyFile: %s
                  faultInjection: true
                """.formatted(n, dir.resolve("data-n" + n), adminPort(n), listenerPort(n), pool(), listenerPort(n),
                pool(), pool(), pool, gossipAddress(n), seeds, key));
        }
    }

    private Process spawn(String name, List<String> args) throws IOException {
        Process p = new ProcessBuilder(L4meshCli.childCommand(List.of("-Xmx128m"), args)).redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(name + ".log").toFile())).start();
        processes.put(name, p);
        return p;
    }

    private boolean alive(String name) {
        Process p = processes.get(name);
        return p != null && p.isAlive();
    }

    private void watch() {
        while (running) {
            Set<Integer> now = new TreeSet<>();
            for (int n = 1; n <= NODES; n++) {
                if (alive("node-" + n) && Baseline.healthy(this, n)) {
                    now.add(n);
                }
            }
            Set<Integer> view = Set.copyOf(now);
            if (!view.equals(serving)) {
                serving = view;
                java.util.function.Consumer<Set<Integer>> l = servingListener;
                if (l != null) {
                    l.accept(view);
                }
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    @Override
    public Target target() {
        return Target.LOOPBACK;
    }

    @Override
    public List<Integer> baselineNodes() {
        return Baseline.range(1, NODES);
    }

    @Override
    public int spareNode() {
        return 0;
    }

    @Override
    public boolean running(int n) {
        return alive("node-" + n);
    }

    @Override
    public long pid(int n) {
        Process p = processes.get("node-" + n);
        return p == null ? -1 : p.pid();
    }

    @Override
    public void signal(int n, String signal) throws Exception {
        io.l4mesh.node.packet.Commands.run(List.of("kill", "-" + signal, Long.toString(pid(n))));
    }

    @Override
    public void start(int n) throws Exception {
        if (running(n)) {
            throw new IllegalStateException("node " + n + " is running");
        }
        spawn("node-" + n, List.of("run", "--config", dir.resolve("node-" + n + ".yaml").toString()));
    }

    @Override
    public AdminClient.Response admin(int n, String method, String path, String body) throws Exception {
        return admins[n].send(method, path, body == null ? null : new com.fasterxml.jackson.databind.ObjectMapper()
            .readTree(body));
    }

    @Override
    public Set<Integer> serving() {
        return serving;
    }

    @Override
    public void onServingChange(java.util.function.Consumer<Set<Integer>> l) {
        servingListener = l;
    }

    @Override
    public String gossipAddress(int n) {
        return "127.0.0.1:" + gossipPort(n);
    }

    @Override
    public ClientSide clients() {
        return new ClientSide() {
            @Override
            public SocketChannel openTcp() throws IOException {
                return SocketChannel.open();
            }

            @Override
            public DatagramChannel openUdp() throws IOException {
                return DatagramChannel.open();
            }

            @Override
            public InetSocketAddress tcpTarget(int i) {
                return new InetSocketAddress("127.0.0.1", listenerPort(1 + Math.floorMod(i, NODES)));
            }

            @Override
            public InetSocketAddress udpTarget(int i) {
                return tcpTarget(i);
            }
        };
    }

    @Override
    public List<Integer> backends() {
        return Baseline.range(1, BACKENDS);
    }

    @Override
    public List<Integer> baselinePool() {
        return Baseline.range(1, POOL);
    }

    @Override
    public String pool() {
        return "demo";
    }

    @Override
    public String backendId(int j) {
        return "127.0.0.1:" + backendPort(j);
    }

    @Override
    public boolean backendRunning(int j) {
        return alive("backend-" + j);
    }

    @Override
    public void killBackend(int j) throws Exception {
        Process p = processes.get("backend-" + j);
        if (p != null) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Override
    public void startBackend(int j) throws Exception {
        if (backendRunning(j)) {
            throw new IllegalStateException("backend " + j + " is running");
        }
        spawn("backend-" + j, List.of("demo-backend", "--name", backendName(j), "--bind", "127.0.0.1:"
            + backendPort(j)));
        InetSocketAddress a = new InetSocketAddress("127.0.0.1", backendPort(j));
        Baseline.await(Duration.ofSeconds(30), "backend " + j + " answers", () -> Baseline.answers(a));
    }

    /**
     * Starts backend {@code j} again on a spare port, waits until it answers, then stops the old one and puts the
     * in-path proxy on its address; closing the proxy puts the backend back on its own address.
     */
    @Override
    public InPathProxy interpose(int j) throws Exception {
        String moved = "backend-" + j + "-moved";
        spawn(moved, List.of("demo-backend", "--name", backendName(j), "--bind", "127.0.0.1:" + movedPort(j)));
        InetSocketAddress listen = new InetSocketAddress("127.0.0.1", backendPort(j));
        InetSocketAddress service = new InetSocketAddress("127.0.0.1", movedPort(j));
        Baseline.await(Duration.ofSeconds(30), "the moved backend answers", () -> Baseline.answers(service));
        Baseline.warm(service, 300);
        killBackend(j);
        AutoCloseable back = () -> {
            startBackend(j);
            Process p = processes.remove(moved);
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        };
        return toxiproxy != null ? toxiproxy.proxy("backend-" + j, listen, service, back)
            : CrusherProxy.open(null, listen, service, back);
    }

    @Override
    public void partition(Set<Integer> a, Set<Integer> b) throws Exception {
        for (int x : a) {
            for (int y : b) {
                blocked.computeIfAbsent(x, k -> new TreeSet<>()).add(gossipAddress(y));
                blocked.computeIfAbsent(y, k -> new TreeSet<>()).add(gossipAddress(x));
            }
        }
        for (var e : blocked.entrySet()) {
            StringBuilder list = new StringBuilder();
            for (String g : e.getValue()) {
                list.append(list.isEmpty() ? "" : ", ").append('"').append(g).append('"');
            }
            AdminClient.Response r = admin(e.getKey(), "POST", "/fault/partition", "{\"block\": [" + list + "]}");
            if (!r.ok()) {
                throw new IOException("partition on node " + e.getKey() + ": " + r.error());
            }
        }
    }

    @Override
    public void heal() throws Exception {
        for (int n : blocked.keySet()) {
            if (running(n)) {
                admin(n, "DELETE", "/fault/partition", null);
            }
        }
        blocked.clear();
    }

    @Override
    public long detectionWindowMs() {
        return 2 * 500 + 500;
    }

    @Override
    public long rssBytes(int n) {
        long pid = running(n) ? pid(n) : -1;
        return pid > 0 ? Baseline.rss(pid) : 0;
    }

    @Override
    public long memoryBoundBytes() {
        return MEMORY_BOUND;
    }

    @Override
    public boolean flowSync() {
        return false;
    }

    @Override
    public Path keepLogs(Path into) throws Exception {
        Files.createDirectories(into);
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                String name = f.getFileName().toString();
                if (name.endsWith(".log") || name.endsWith(".yaml")) {
                    Files.copy(f, into.resolve(name), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
        return into;
    }

    @Override
    public void restore() throws Exception {
        heal();
        for (int n = 1; n <= NODES; n++) {
            if (running(n)) {
                signal(n, "CONT");
            } else {
                start(n);
            }
        }
        for (int j = 1; j <= BACKENDS; j++) {
            if (!backendRunning(j)) {
                startBackend(j);
            }
        }
        awaitBaseline();
    }

    private void awaitBaseline() throws Exception {
        Baseline.awaitBaseline(this, TIMEOUT);
        Baseline.await(TIMEOUT, "every node healthy", () -> serving.size() == NODES);
    }

    @Override
    public void close() throws Exception {
        running = false;
        watcher.interrupt();
        for (Process p : processes.values()) {
            p.destroy();
        }
        for (Process p : processes.values()) {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
        if (toxiproxy != null) {
            toxiproxy.close();
        }
        io.l4mesh.node.packet.Commands.deleteTree(dir);
    }
}
