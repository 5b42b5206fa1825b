package io.l4mesh.chaos.lab;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.l4mesh.node.admin.AdminClient;
import io.l4mesh.node.cli.L4meshCli;
import io.l4mesh.node.packet.Commands;
import io.l4mesh.node.packet.NetNamespace;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Builds and removes the lab. Everything it creates (namespaces, processes) is recorded in {@code state.json} in
 * its directory, and {@link #down} removes exactly that, by name and PID.
 *
 * <pre>
 *  client c_i (198.18.1i.2) --\                     /-- node n_i (198.18.2i.2): l4mesh run (packet mode) + BIRD
 *                              router r: BIRD, ECMP  --
 *                                                   \-- backend b_j (198.18.4j.2): l4mesh decap + demo backend
 * </pre>
 *
 * Each node's BIRD learns the VIP's kernel route, which exists only while that node's TUN is open, and announces it
 * to the router: SIGTERM or kill -9 of the node removes the route and BIRD withdraws it at once; {@code l4mesh
 * announce} removes it too when the node stops answering {@code /healthz} (hung, or draining). The router
 * merges the nodes' routes into one ECMP route (hash policy 3 on the 5-tuple fields 0x0037).
 *
 * <p>The nodes probe each backend through the tunnel with a request ({@code health}) that the demo backend answers
 * ({@code backend-j health}), so a backend that accepts connections but never answers is found out too.
 *
 * <p>Spare nodes ({@link Options#spareNodes}) are built like the others (namespace, BIRD, announcer, config, and a
 * place in every node's seed list) but not started: {@link #startNode} adds one to the mesh (scale-out).
 *
 * <p>Threading: one thread builds, changes and removes a lab; {@link #admin} may be called from any thread.
 */
public final class Lab {
    public static final String VIP = "198.18.100.1";
    public static final int PORT = 8080;
    /** A second VIP, UDP: its own TUN on every node; each backend's demo backend answers on it. */
    public static final String UDP_VIP = "198.18.100.2";
    /** The TCP service on an IPv6 VIP (fd00::/8 inside the lab): clients and router speak IPv6, the fabric IPv4. */
    public static final String VIP6 = "fd00:100::1";
    public static final int UDP_PORT = 9000;
    /** The pool every lab node serves. */
    public static final String POOL = "web";
    /** The most nodes, backends or clients a lab has (their subnets are 198.18.2i, 4j, 1k). */
    public static final int MAX_HOSTS = 8;
    /** Each node's admin API, inside its namespace. */
    public static final int ADMIN_PORT = 9090;
    /** The heap of every l4mesh process the lab starts. */
    public static final String NODE_HEAP = "-Xmx128m";
    static final String PREFIX = "l4lab-";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Membership (gossip) port of every node; flow sync uses the next one. */
    public static final int GOSSIP_PORT = 7946;

    /**
     * What the lab made.
     *
     * @param nodes      nodes started at build time (node-1 .. node-N)
     * @param spareNodes nodes built but not started (node-N+1 ..), for {@link #startNode}
     */
    public record State(List<String> namespaces, Map<String, Long> processes, int nodes, int backends, int clients,
                        int poolBackends, boolean sync, int spareNodes, boolean faultInjection) {
        /** Every node namespace the lab has, started or spare. */
        public int allNodes() {
            return nodes + spareNodes;
        }
    }

    /**
     * The lab's shape.
     *
     * @param poolBackends   backends in the pool at start (the rest run, ready for {@code l4mesh backend add})
     * @param sync           flow-table sync between the nodes (they always form one mesh)
     * @param spareNodes     nodes built but not started
     * @param faultInjection the nodes' fault seams reachable through their admin APIs (the chaos suite)
     */
    public record Options(int nodes, int backends, int clients, int poolBackends, boolean sync, int spareNodes,
                          boolean faultInjection) {
        public Options {
            if (nodes < 1 || nodes + spareNodes > MAX_HOSTS || spareNodes < 0 || backends < 1 || backends > MAX_HOSTS
                || clients < 1 || clients > MAX_HOSTS || poolBackends < 1 || poolBackends > backends) {
                throw new IllegalArgumentException("a lab has 1 to " + MAX_HOSTS + " nodes (spares included), backends"
                    + " and clients, and 1 to all of its backends in the pool");
            }
        }

        public static Options of(int nodes, int backends, int clients) {
            return new Options(nodes, backends, clients, backends, true, 0, false);
        }
    }

    /** A backend's address in the lab. */
    public static String backendAddress(int j) {
        return "198.18." + (40 + j) + ".2";
    }

    /** A backend's service address ({@code host:port}, as the pool names it). */
    public static String backendId(int j) {
        return backendAddress(j) + ":" + PORT;
    }

    /** A node's address in the lab (its admin API listens on 127.0.0.1:9090 in its namespace). */
    public static String nodeAddress(int i) {
        return "198.18." + (20 + i) + ".2";
    }

    /** A client's address in the lab. */
    public static String clientAddress(int k) {
        return "198.18." + (10 + k) + ".2";
    }

    public static String nodeNamespace(int i) {
        return PREFIX + "n" + i;
    }

    public static String backendNamespace(int j) {
        return PREFIX + "b" + j;
    }

    public static String clientNamespace(int k) {
        return PREFIX + "c" + k;
    }

    public static String routerNamespace() {
        return PREFIX + "r";
    }

    private final Path dir;
    private final boolean demoBackends;
    private final Map<String, NetNamespace.Pinned> pinned = new ConcurrentHashMap<>();

    public Lab(Path dir) {
        this(dir, true);
    }

    /**
     * @param demoBackends whether each backend namespace runs a demo backend (TCP on {@link #PORT}, UDP on the UDP
     *                     VIP's port); without it both ports are left to the caller's own programs (the packet
     *                     benchmark's sinks), which must also answer the pool's health checks on {@link #PORT}
     */
    public Lab(Path dir, boolean demoBackends) {
        this.dir = dir;
        this.demoBackends = demoBackends;
    }

    /** Where the lab keeps its state, configs and logs. */
    public Path dir() {
        return dir;
    }

    public Path stateFile() {
        return dir.resolve("state.json");
    }

    /** Reads the recorded state, or null if there is no lab. */
    public State state() throws IOException {
        Path f = stateFile();
        return Files.exists(f) ? JSON.readValue(f.toFile(), State.class) : null;
    }

    /** Writes the state file whole or not at all (a reader never sees half of it). */
    private void save(State s) throws IOException {
        Files.createDirectories(dir);
        Path tmp = dir.resolve("state.json.tmp");
        JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), s);
        Files.move(tmp, stateFile(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Builds the lab with every backend in the pool and flow sync on. */
    public State up(int nodes, int backends, int clients, List<String> l4mesh) throws Exception {
        return up(Options.of(nodes, backends, clients), l4mesh);
    }

    /** Builds the lab (idempotent: an existing lab with the same shape is kept). */
    public State up(Options o, List<String> l4mesh) throws Exception {
        State existing = state();
        if (existing != null) {
            if (shape(existing).equals(o) && existing.namespaces().stream().allMatch(Lab::namespaceExists)) {
                return existing;
            }
            down();
        }
        List<String> ns = new ArrayList<>();
        Map<String, Long> procs = new LinkedHashMap<>();
        State s = new State(ns, procs, o.nodes(), o.backends(), o.clients(), o.poolBackends(), o.sync(),
            o.spareNodes(), o.faultInjection());
        try {
            build(s, l4mesh);
        } catch (Exception e) {
            save(s);
            down();
            throw e;
        }
        save(s);
        return s;
    }

    /** The options a recorded lab was built with. */
    public static Options shape(State s) {
        return new Options(s.nodes(), s.backends(), s.clients(), s.poolBackends(), s.sync(), s.spareNodes(),
            s.faultInjection());
    }

    private void build(State s, List<String> l4mesh) throws Exception {
        Files.createDirectories(dir);
        String r = routerNamespace();
        addNs(s, r);
        sh(r, "ip link set lo up; sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1;"
            + " sysctl -qw net.ipv4.fib_multipath_hash_policy=3 net.ipv4.fib_multipath_hash_fields=0x0037 || true;"
            + " sysctl -qw net.ipv6.fib_multipath_hash_policy=3 net.ipv6.fib_multipath_hash_fields=0x0037 || true");
        StringBuilder bgp = new StringBuilder();
        for (int i = 1; i <= s.clients(); i++) {
            String c = clientNamespace(i);
            addNs(s, c);
            link(r, "rc" + i, c, "lc" + i, 1500);
            subnet(r, "rc" + i, c, "lc" + i, 10 + i, "");
        }
        for (int j = 1; j <= s.backends(); j++) {
            String b = backendNamespace(j);
            addNs(s, b);
            link(r, "rb" + j, b, "lb" + j, 1600);
            // ip_nonlocal_bind: the demo backend binds the UDP VIP (so its replies come from it) before decap adds it
            subnet(r, "rb" + j, b, "lb" + j, 40 + j, "; sysctl -qw net.ipv4.conf.all.rp_filter=0"
                + " net.ipv4.conf.default.rp_filter=0 net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2"
                + " net.ipv4.ip_nonlocal_bind=1");
            start(s, b, "decap-" + j, l4mesh, List.of("decap", "--listen", backendAddress(j) + ":6080",
                "--tun", "l4mdecap", "--vip", VIP, "--vip", UDP_VIP, "--vip", VIP6));
            startBackend(s, j, l4mesh);
        }
        StringBuilder pool = new StringBuilder();
        for (int j = 1; j <= s.poolBackends(); j++) {
            pool.append(pool.isEmpty() ? "" : ", ").append(backendId(j));
        }
        Path key = dir.resolve("cluster.key");
        byte[] secret = new byte[32];
        new java.security.SecureRandom().nextBytes(secret);
        Files.writeString(key, java.util.HexFormat.of().formatHex(secret) + "\n");
        for (int i = 1; i <= s.allNodes(); i++) {
            String n = nodeNamespace(i);
            addNs(s, n);
            link(r, "rn" + i, n, "ln" + i, 1600);
            subnet(r, "rn" + i, n, "ln" + i, 20 + i, "");
            Path data = dir.resolve("data-n" + i);
            Commands.deleteTree(data);     // a fresh pool ledger: the config's backends seed it
            Files.writeString(dir.resolve("node-" + i + ".yaml"), nodeConfig(s, i, pool.toString(), data, key));
            Path birdConf = dir.resolve("bird-n" + i + ".conf");
            Files.writeString(birdConf, nodeBird(i));
            bird(s, n, "bird-n" + i, birdConf);
            if (i <= s.nodes()) {
                startNode(s, i, l4mesh);
            }
            start(s, n, "announce-" + i, l4mesh, List.of("announce", "--vip", VIP + "=l4mvip", "--vip",
                UDP_VIP + "=l4mudp", "--vip", VIP6 + "=l4mvip6"));
            bgp.append("protocol bgp n").append(i).append(" from node { neighbor 198.18.").append(20 + i)
                .append(".2 as 65001; }\n");
            bgp.append("protocol bgp n").append(i).append("v6 from node6 { neighbor fd00:").append(20 + i)
                .append("::2 as 65001; }\n");
        }
        Path routerConf = dir.resolve("bird-r.conf");
        Files.writeString(routerConf, """
            log "%s" all;
            router id 198.18.0.1;
            protocol device { }
            protocol kernel { ipv4 { export all; }; merge paths on limit 16; }
            protocol kernel kernel6 { ipv6 { export all; }; merge paths on limit 16; }
            template bgp node {
              local as 65000; hold time 3; keepalive time 1; connect retry time 1; error wait time 1, 5;
              ipv4 { import all; export none; };
            }
            template bgp node6 {
              local as 65000; hold time 3; keepalive time 1; connect retry time 1; error wait time 1, 5;
              ipv6 { import all; export none; };
            }
            """.formatted(dir.resolve("bird-r.log")) + bgp);
        bird(s, r, "bird-r", routerConf);
    }

    private String nodeConfig(State s, int i, String pool, Path data, Path key) {
        StringBuilder seeds = new StringBuilder();
        for (int k = 1; k <= s.allNodes(); k++) {
            if (k != i) {
                seeds.append(seeds.isEmpty() ? "" : ", ").append(nodeAddress(k)).append(':').append(GOSSIP_PORT);
            }
        }
        return """
            node: {id: lab-n%d, dataDir: %s}
            admin: {bind: 127.0.0.1:%d}
            runtime: {shutdownGrace: 2s}
            listeners:
              - {name: vip, bind: "%s:%d", protocol: tcp, pool: %s, mode: packet,
                 packet: {tun: l4mvip, fabricMtu: 1600, flowTable: {maxEntries: 100000}}}
              - {name: vip-udp, bind: "%s:%d", protocol: udp, pool: %s, mode: packet,
                 packet: {tun: l4mudp, fabricMtu: 1600, flowTable: {maxEntries: 100000}}}
              - {name: vip6, bind: "[%s]:%d", protocol: tcp, pool: %s, mode: packet,
                 packet: {tun: l4mvip6, fabricMtu: 1600, flowTable: {maxEntries: 100000}}}
            pools:
              %s:
                backends: [%s]
                healthCheck: {interval: 500ms, timeout: 450ms, rise: 2, fall: 2, through: tunnel, send: "health\\n",
                              expect: " health"}
            membership:
              bind: %s:%d
              seeds: [%s]
              keyFile: %s
              faultInjection: %s
              flowSync: {enabled: %s, snapshotTimeout: 3s}
            """.formatted(i, data, ADMIN_PORT, VIP, PORT, POOL, UDP_VIP, UDP_PORT, POOL, VIP6, PORT, POOL, POOL, pool,
            nodeAddress(i), GOSSIP_PORT, seeds, key, s.faultInjection(), s.sync());
    }

    private String nodeBird(int i) {
        return """
            log "%s" all;
            router id 198.18.%d.2;
            protocol device { }
            protocol kernel {
              learn; scan time 1;
              ipv4 { import filter { if net ~ [ %s/32, %s/32 ] then accept; reject; }; export none; };
            }
            protocol bgp upstream {
              local as 65001; neighbor 198.18.%d.1 as 65000;
              hold time 3; keepalive time 1; connect retry time 1; error wait time 1, 5;
              ipv4 { import none; export filter { if net ~ [ %s/32, %s/32 ] then accept; reject; };
                     next hop self; };
            }
            protocol kernel kernel6 {
              learn; scan time 1;
              ipv6 { import filter { if net ~ [ %s/128 ] then accept; reject; }; export none; };
            }
            protocol bgp upstream6 {
              local as 65001; neighbor fd00:%d::1 as 65000;
              hold time 3; keepalive time 1; connect retry time 1; error wait time 1, 5;
              ipv6 { import none; export filter { if net ~ [ %s/128 ] then accept; reject; }; next hop self; };
            }
            """.formatted(dir.resolve("bird-n" + i + ".log"), 20 + i, VIP, UDP_VIP, 20 + i, VIP, UDP_VIP, VIP6,
            20 + i, VIP6);
    }

    /**
     * Addresses the link between the router and a namespace: 198.18.N.0/24 and fd00:N::/64, the router .1 / ::1,
     * the namespace .2 / ::2 with its default routes through the router; {@code more} runs after in the namespace.
     */
    private static void subnet(String router, String routerIf, String ns, String nsIf, int n, String more)
        throws Exception {
        sh(router, "ip addr add 198.18." + n + ".1/24 dev " + routerIf + "; ip -6 addr add fd00:" + n + "::1/64 dev "
            + routerIf + " nodad");
        sh(ns, "ip link set lo up; ip addr add 198.18." + n + ".2/24 dev " + nsIf + "; ip route add default via 198.18."
            + n + ".1; ip -6 addr add fd00:" + n + "::2/64 dev " + nsIf + " nodad; ip -6 route add default via fd00:"
            + n + "::1" + more);
    }

    private void addNs(State s, String name) throws Exception {
        if (namespaceExists(name)) {
            throw new IOException("namespace " + name + " exists but is not in this lab's state; remove it or run "
                + "'l4mesh lab down --dir' for the lab that made it");
        }
        run(List.of("ip", "netns", "add", name));
        s.namespaces().add(name);
    }

    public static boolean namespaceExists(String name) {
        return Files.exists(Path.of("/var/run/netns", name));
    }

    private static void link(String ns1, String if1, String ns2, String if2, int mtu) throws Exception {
        run(List.of("ip", "link", "add", if1, "netns", ns1, "mtu", Integer.toString(mtu), "type", "veth", "peer",
            "name", if2, "netns", ns2, "mtu", Integer.toString(mtu)));
        run(List.of("ip", "-n", ns1, "link", "set", if1, "up"));
        run(List.of("ip", "-n", ns2, "link", "set", if2, "up"));
    }

    private void bird(State s, String ns, String name, Path conf) throws Exception {
        Path sock = birdSocket(name);
        Path pid = dir.resolve(name + ".pid");
        Files.deleteIfExists(pid);
        run(List.of("ip", "netns", "exec", ns, "bird", "-c", conf.toString(), "-s", sock.toString(), "-P",
            pid.toString()));
        // BIRD daemonizes; its child writes the PID file a moment after the parent returns.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        String text = "";
        while ((text = Files.exists(pid) ? Files.readString(pid).strip() : "").isEmpty()) {
            if (System.nanoTime() > deadline) {
                throw new IOException("bird in " + ns + " wrote no PID to " + pid);
            }
            Thread.sleep(20);
        }
        s.processes().put(name, Long.parseLong(text));
    }

    /** The control socket of a BIRD the lab runs ({@code bird-r}, {@code bird-n1}, ...), for {@code birdc -s}. */
    public Path birdSocket(String name) {
        return dir.resolve(name + ".ctl");
    }

    private void start(State s, String ns, String name, List<String> l4mesh, List<String> args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        cmd.addAll(l4mesh);
        cmd.addAll(args);
        Path log = dir.resolve(name + ".log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        s.processes().put(name, p.pid());
    }

    private void startNode(State s, int i, List<String> l4mesh) throws IOException {
        start(s, nodeNamespace(i), "node-" + i, l4mesh, List.of("run", "--config",
            dir.resolve("node-" + i + ".yaml").toString()));
    }

    private void startBackend(State s, int j, List<String> l4mesh) throws IOException {
        if (demoBackends) {
            start(s, backendNamespace(j), "backend-" + j, l4mesh, List.of("demo-backend", "--name", "backend-" + j,
                "--bind", "[::]:" + PORT, "--bind", UDP_VIP + ":" + UDP_PORT));
        }
    }

    /**
     * Starts node {@code i} (a spare, or one that died or was killed) with its config and records its PID. It loads
     * its saved pool, joins the mesh and pulls its peers' flows before it routes the VIPs.
     */
    public long startNode(int i, List<String> l4mesh) throws Exception {
        State s = state();
        if (s == null || i < 1 || i > s.allNodes()) {
            throw new IllegalArgumentException("no node " + i + " in this lab");
        }
        requireStopped(s, "node-" + i);
        startNode(s, i, l4mesh);
        save(s);
        return s.processes().get("node-" + i);
    }

    /** Same as {@link #startNode}: kept for the callers that restart a node they killed. */
    public long restartNode(int i, List<String> l4mesh) throws Exception {
        return startNode(i, l4mesh);
    }

    /** Starts backend {@code j}'s demo backend again (after it was killed) and records its PID. */
    public long startBackend(int j, List<String> l4mesh) throws Exception {
        State s = state();
        if (s == null || j < 1 || j > s.backends()) {
            throw new IllegalArgumentException("no backend " + j + " in this lab");
        }
        requireStopped(s, "backend-" + j);
        startBackend(s, j, l4mesh);
        save(s);
        return s.processes().get("backend-" + j);
    }

    /**
     * Starts an extra process of the caller's in a lab namespace, recorded under {@code name} (so {@link #down}
     * removes it), with its output in {@code name.log}.
     */
    public long startProcess(String name, String namespace, List<String> command) throws Exception {
        State s = state();
        if (s == null || !s.namespaces().contains(namespace)) {
            throw new IllegalArgumentException("no namespace " + namespace + " in this lab");
        }
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", namespace));
        cmd.addAll(command);
        return launch(s, name, cmd);
    }

    /**
     * Starts a process of the caller's on the host, outside the lab's namespaces (Prometheus, the admin relay),
     * recorded under {@code name} so that {@link #down} stops it, with its output in {@code name.log}.
     */
    public long startOnHost(String name, List<String> command) throws Exception {
        State s = state();
        if (s == null) {
            throw new IllegalStateException("no lab in " + dir);
        }
        return launch(s, name, command);
    }

    private long launch(State s, String name, List<String> command) throws Exception {
        requireStopped(s, name);
        Process p = new ProcessBuilder(command).redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(name + ".log").toFile())).start();
        s.processes().put(name, p.pid());
        save(s);
        return p.pid();
    }

    /** Starts the router's BIRD again (after it was killed) with its config. */
    public long startRouterBird() throws Exception {
        State s = state();
        requireStopped(s, "bird-r");
        bird(s, routerNamespace(), "bird-r", dir.resolve("bird-r.conf"));
        save(s);
        return s.processes().get("bird-r");
    }

    private static void requireStopped(State s, String name) {
        Long old = s.processes().get(name);
        if (old != null && ProcessHandle.of(old).map(ProcessHandle::isAlive).orElse(false)) {
            throw new IllegalStateException(name + " is still running (pid " + old + ")");
        }
    }

    /** The PID of a process the lab started ({@code node-1}, {@code backend-2}, {@code bird-r}, ...), or -1. */
    public long pid(String name) throws IOException {
        State s = state();
        Long pid = s == null ? null : s.processes().get(name);
        return pid == null ? -1 : pid;
    }

    /** Whether that process is running. */
    public boolean alive(String name) throws IOException {
        long pid = pid(name);
        return pid > 0 && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    /** Removes exactly what the recorded lab made: processes by PID, namespaces by name. */
    public void down() throws Exception {
        State s = state();
        pinned.values().forEach(NetNamespace.Pinned::close);
        pinned.clear();
        if (s == null) {
            return;
        }
        for (long pid : s.processes().values()) {
            ProcessHandle.of(pid).ifPresent(p -> {
                p.destroy();
                // a stopped process cannot act on SIGTERM until it runs again
                Commands.tryRun(List.of("kill", "-CONT", Long.toString(pid)));
            });
        }
        for (long pid : s.processes().values()) {
            ProcessHandle.of(pid).ifPresent(p -> {
                try {
                    p.onExit().get(10, TimeUnit.SECONDS);
                } catch (Exception e) {
                    p.destroyForcibly();
                }
            });
        }
        for (String ns : s.namespaces()) {
            if (namespaceExists(ns)) {
                run(List.of("ip", "netns", "del", ns));
            }
        }
        Files.deleteIfExists(stateFile());
    }

    /**
     * Copies the lab's logs (every node's, backend's, announcer's and BIRD's, and the configs) into {@code into},
     * for a failed test or chaos run to keep after the lab's own directory is gone. Returns the files copied.
     */
    public List<Path> keepLogs(Path into) throws IOException {
        List<Path> kept = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return kept;
        }
        Files.createDirectories(into);
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                String n = f.getFileName().toString();
                if (Files.isRegularFile(f) && (n.endsWith(".log") || n.endsWith(".yaml") || n.endsWith(".conf")
                    || n.equals("state.json"))) {
                    kept.add(Files.copy(f, into.resolve(n), StandardCopyOption.REPLACE_EXISTING));
                }
            }
        }
        return kept;
    }

    /** The router's next hops (nodes) for the TCP VIP. */
    public List<String> vipNextHops() throws Exception {
        return vipNextHops(VIP);
    }

    /** The router's next hops (nodes) for a VIP (IPv4 or IPv6). */
    public List<String> vipNextHops(String vip) throws Exception {
        boolean v6 = vip.contains(":");
        String out = run(List.of("ip", v6 ? "-6" : "-4", "-n", routerNamespace(), "route", "show",
            vip + (v6 ? "/128" : "/32")));
        return nextHops(out);
    }

    /** The next hops in {@code ip route show} output (one route, with or without multipath). */
    public static List<String> nextHops(String ipRouteShow) {
        List<String> hops = new ArrayList<>();
        for (String line : ipRouteShow.split("\n")) {
            if (line.contains(" via ") || line.startsWith("via ")) {
                String rest = line.substring(line.indexOf("via ") + 4);
                hops.add(rest.split(" ")[0]);
            }
        }
        return hops;
    }

    /**
     * One HTTP/1.1 request to node {@code node}'s admin API (127.0.0.1:9090 in its namespace). A connection that
     * cannot be made (the node is down) throws.
     */
    public AdminClient.Response admin(int node, String method, String path, String body) throws Exception {
        NetNamespace.Pinned ns = pinned.computeIfAbsent(nodeNamespace(node), NetNamespace.Pinned::new);
        return ns.call(() -> {
            try (Socket s = new Socket()) {
                s.setSoTimeout(10_000);
                s.connect(new InetSocketAddress("127.0.0.1", ADMIN_PORT), 2000);
                return AdminClient.exchange(s, "lab", method, path,
                    body == null ? null : body.getBytes(StandardCharsets.UTF_8));
            }
        });
    }

    /** The sum of the samples of a metric (regex up to the closing brace) on a lab node. */
    public double metricSum(int node, String regex) throws Exception {
        return sumOf(admin(node, "GET", "/metrics", null).body(), regex);
    }

    /** The sum of the samples matching {@code regex} (name and labels) in a Prometheus text page. */
    public static double sumOf(String metrics, String regex) {
        Matcher m = Pattern.compile("(?m)^" + regex + " ([0-9.E+-]+|NaN)$").matcher(metrics);
        double sum = 0;
        while (m.find()) {
            double v = Double.parseDouble(m.group(1));
            sum += Double.isNaN(v) ? 0 : v;
        }
        return sum;
    }

    static void sh(String ns, String command) throws Exception {
        run(List.of("ip", "netns", "exec", ns, "sh", "-c", command));
    }

    public static String run(List<String> cmd) throws IOException {
        return Commands.run(cmd);
    }

    /** The command that runs this l4mesh in a child process (same JVM, class path and flags). */
    public static List<String> selfCommand() {
        return L4meshCli.childCommand(List.of(NODE_HEAP), List.of());
    }

    /** The command line that runs {@code l4mesh lab <args>} in a new JVM like this one (same Java and class path). */
    public static List<String> labCommand(List<String> args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-Xmx64m", "-cp",
            System.getProperty("java.class.path"), LabCommand.class.getName()));
        cmd.addAll(args);
        return cmd;
    }
}
