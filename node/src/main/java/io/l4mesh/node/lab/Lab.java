package io.l4mesh.node.lab;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.l4mesh.node.cli.L4meshCli;
import io.l4mesh.node.packet.Commands;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

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
 */
public final class Lab {
    public static final String VIP = "198.18.100.1";
    public static final int PORT = 8080;
    /** A second VIP, UDP, for the packet benchmark: its own TUN on every node. */
    public static final String UDP_VIP = "198.18.100.2";
    /** The TCP service on an IPv6 VIP (fd00::/8 inside the lab): clients and router speak IPv6, the fabric IPv4. */
    public static final String VIP6 = "fd00:100::1";
    public static final int UDP_PORT = 9000;
    static final String PREFIX = "l4lab-";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Membership (gossip) port of every node; flow sync uses the next one. */
    public static final int GOSSIP_PORT = 7946;

    /** What the lab made. */
    public record State(List<String> namespaces, Map<String, Long> processes, int nodes, int backends, int clients,
                        int poolBackends, boolean sync) {
    }

    /**
     * The lab's shape.
     *
     * @param poolBackends backends in the pool at start (the rest run, ready to be added with {@code l4mesh backend add})
     * @param sync         flow-table sync between the nodes (they always form one mesh)
     */
    public record Options(int nodes, int backends, int clients, int poolBackends, boolean sync) {
        public static Options of(int nodes, int backends, int clients) {
            return new Options(nodes, backends, clients, backends, true);
        }
    }

    /** A backend's address in the lab. */
    public static String backendAddress(int j) {
        return "198.18." + (40 + j) + ".2";
    }

    /** A node's address in the lab (its admin API listens on 127.0.0.1:9090 in its namespace). */
    public static String nodeAddress(int i) {
        return "198.18." + (20 + i) + ".2";
    }

    private final Path dir;

    public Lab(Path dir) {
        this.dir = dir;
    }

    public Path stateFile() {
        return dir.resolve("state.json");
    }

    /** Reads the recorded state, or null if there is no lab. */
    public State state() throws IOException {
        Path f = stateFile();
        return Files.exists(f) ? JSON.readValue(f.toFile(), State.class) : null;
    }

    private void save(State s) throws IOException {
        Files.createDirectories(dir);
        JSON.writerWithDefaultPrettyPrinter().writeValue(stateFile().toFile(), s);
    }

    /** Builds the lab with every backend in the pool and flow sync on. */
    public State up(int nodes, int backends, int clients, List<String> l4mesh) throws Exception {
        return up(Options.of(nodes, backends, clients), l4mesh);
    }

    /** Builds the lab (idempotent: an existing lab with the same shape is kept). */
    public State up(Options o, List<String> l4mesh) throws Exception {
        State existing = state();
        if (existing != null) {
            if (existing.nodes() == o.nodes() && existing.backends() == o.backends()
                && existing.clients() == o.clients() && existing.poolBackends() == o.poolBackends()
                && existing.sync() == o.sync() && existing.namespaces().stream().allMatch(Lab::namespaceExists)) {
                return existing;
            }
            down();
        }
        List<String> ns = new ArrayList<>();
        Map<String, Long> procs = new LinkedHashMap<>();
        State s = new State(ns, procs, o.nodes(), o.backends(), o.clients(), o.poolBackends(), o.sync());
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

    private void build(State s, List<String> l4mesh) throws Exception {
        Files.createDirectories(dir);
        String r = PREFIX + "r";
        addNs(s, r);
        sh(r, "ip link set lo up; sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1;"
            + " sysctl -qw net.ipv4.fib_multipath_hash_policy=3 net.ipv4.fib_multipath_hash_fields=0x0037 || true;"
            + " sysctl -qw net.ipv6.fib_multipath_hash_policy=3 net.ipv6.fib_multipath_hash_fields=0x0037 || true");
        StringBuilder bgp = new StringBuilder();
        for (int i = 1; i <= s.clients(); i++) {
            String c = PREFIX + "c" + i;
            addNs(s, c);
            link(r, "rc" + i, c, "lc" + i, 1500);
            subnet(r, "rc" + i, c, "lc" + i, 10 + i, "");
        }
        for (int j = 1; j <= s.backends(); j++) {
            String b = PREFIX + "b" + j;
            addNs(s, b);
            link(r, "rb" + j, b, "lb" + j, 1600);
            subnet(r, "rb" + j, b, "lb" + j, 40 + j, "; sysctl -qw net.ipv4.conf.all.rp_filter=0"
                + " net.ipv4.conf.default.rp_filter=0 net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2");
            start(s, b, "decap-" + j, l4mesh, List.of("decap", "--listen", "198.18." + (40 + j) + ".2:6080",
                "--tun", "l4mdecap", "--vip", VIP, "--vip", UDP_VIP, "--vip", VIP6));
            start(s, b, "backend-" + j, l4mesh, List.of("demo-backend", "--name", "backend-" + j, "--bind",
                "[::]:" + PORT));
        }
        StringBuilder pool = new StringBuilder();
        for (int j = 1; j <= s.poolBackends(); j++) {
            pool.append(pool.isEmpty() ? "" : ", ").append(backendAddress(j)).append(':').append(PORT);
        }
        Path key = dir.resolve("cluster.key");
        byte[] secret = new byte[32];
        new java.security.SecureRandom().nextBytes(secret);
        Files.writeString(key, java.util.HexFormat.of().formatHex(secret) + "\n");
        for (int i = 1; i <= s.nodes(); i++) {
            String n = PREFIX + "n" + i;
            addNs(s, n);
            link(r, "rn" + i, n, "ln" + i, 1600);
            subnet(r, "rn" + i, n, "ln" + i, 20 + i, "");
            Path cfg = dir.resolve("node-" + i + ".yaml");
            Path data = dir.resolve("data-n" + i);
            Commands.deleteTree(data);     // a fresh pool ledger: the config's backends seed it
            StringBuilder seeds = new StringBuilder();
            for (int k = 1; k <= s.nodes(); k++) {
                if (k != i) {
                    seeds.append(seeds.isEmpty() ? "" : ", ").append(nodeAddress(k)).append(':').append(GOSSIP_PORT);
                }
            }
            Files.writeString(cfg, """
                node: {id: lab-n%d, dataDir: %s}
                admin: {bind: 127.0.0.1:9090}
                runtime: {shutdownGrace: 2s}
                listeners:
                  - {name: vip, bind: "%s:%d", protocol: tcp, pool: web, mode: packet,
                     packet: {tun: l4mvip, fabricMtu: 1600, flowTable: {maxEntries: 100000}}}
                  - {name: vip-udp, bind: "%s:%d", protocol: udp, pool: web, mode: packet,
                     packet: {tun: l4mudp, fabricMtu: 1600, flowTable: {maxEntries: 100000}}}
                  - {name: vip6, bind: "[%s]:%d", protocol: tcp, pool: web, mode: packet,
                     packet: {tun: l4mvip6, fabricMtu: 1600, flowTable: {maxEntries: 100000}}}
                pools:
                  web:
                    backends: [%s]
                    healthCheck: {interval: 500ms, timeout: 300ms, rise: 2, fall: 2, through: tunnel}
                membership:
                  bind: %s:%d
                  seeds: [%s]
                  keyFile: %s
                  flowSync: {enabled: %s, snapshotTimeout: 3s}
                """.formatted(i, data, VIP, PORT, UDP_VIP, UDP_PORT, VIP6, PORT, pool, nodeAddress(i), GOSSIP_PORT,
                seeds, key, s.sync()));
            Path birdConf = dir.resolve("bird-n" + i + ".conf");
            Files.writeString(birdConf, """
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
                """.formatted(20 + i, VIP, UDP_VIP, 20 + i, VIP, UDP_VIP, VIP6, 20 + i, VIP6));
            bird(s, n, "bird-n" + i, birdConf);
            start(s, n, "node-" + i, l4mesh, List.of("run", "--config", cfg.toString()));
            start(s, n, "announce-" + i, l4mesh, List.of("announce", "--vip", VIP + "=l4mvip", "--vip",
                UDP_VIP + "=l4mudp", "--vip", VIP6 + "=l4mvip6"));
            bgp.append("protocol bgp n").append(i).append(" from node { neighbor 198.18.").append(20 + i)
                .append(".2 as 65001; }\n");
            bgp.append("protocol bgp n").append(i).append("v6 from node6 { neighbor fd00:").append(20 + i)
                .append("::2 as 65001; }\n");
        }
        Path routerConf = dir.resolve("bird-r.conf");
        Files.writeString(routerConf, """
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
            """ + bgp);
        bird(s, r, "bird-r", routerConf);
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

    static boolean namespaceExists(String name) {
        return Files.exists(Path.of("/var/run/netns", name));
    }

    private static void link(String ns1, String if1, String ns2, String if2, int mtu) throws Exception {
        run(List.of("ip", "link", "add", if1, "netns", ns1, "mtu", Integer.toString(mtu), "type", "veth", "peer",
            "name", if2, "netns", ns2, "mtu", Integer.toString(mtu)));
        run(List.of("ip", "-n", ns1, "link", "set", if1, "up"));
        run(List.of("ip", "-n", ns2, "link", "set", if2, "up"));
    }

    private void bird(State s, String ns, String name, Path conf) throws Exception {
        Path sock = dir.resolve(name + ".ctl");
        Path pid = dir.resolve(name + ".pid");
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

    private void start(State s, String ns, String name, List<String> l4mesh, List<String> args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        cmd.addAll(l4mesh);
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
            .redirectOutput(dir.resolve(name + ".log").toFile()).start();
        s.processes().put(name, p.pid());
    }

    /**
     * Starts node {@code i} again with its config (after it died or was killed): records the new PID. It loads its
     * saved pool, joins the mesh and pulls its peers' flows before it routes the VIPs.
     */
    public long restartNode(int i, List<String> l4mesh) throws Exception {
        State s = state();
        if (s == null || i < 1 || i > s.nodes()) {
            throw new IllegalArgumentException("no node " + i + " in this lab");
        }
        Long old = s.processes().get("node-" + i);
        if (old != null && ProcessHandle.of(old).map(ProcessHandle::isAlive).orElse(false)) {
            throw new IllegalStateException("node " + i + " is still running (pid " + old + ")");
        }
        start(s, PREFIX + "n" + i, "node-" + i, l4mesh, List.of("run", "--config",
            dir.resolve("node-" + i + ".yaml").toString()));
        save(s);
        return s.processes().get("node-" + i);
    }

    /** Removes exactly what the recorded lab made: processes by PID, namespaces by name. */
    public void down() throws Exception {
        State s = state();
        if (s == null) {
            return;
        }
        for (long pid : s.processes().values()) {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroy);
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

    /** The router's next hops (nodes) for the TCP VIP. */
    public List<String> vipNextHops() throws Exception {
        return vipNextHops(VIP);
    }

    /** The router's next hops (nodes) for a VIP (IPv4 or IPv6). */
    public List<String> vipNextHops(String vip) throws Exception {
        boolean v6 = vip.contains(":");
        String out = run(List.of("ip", v6 ? "-6" : "-4", "-n", PREFIX + "r", "route", "show", vip + (v6 ? "/128" : "/32")));
        List<String> hops = new ArrayList<>();
        for (String line : out.split("\n")) {
            if (line.contains(" via ")) {
                hops.add(line.substring(line.indexOf(" via ") + 5).split(" ")[0]);
            }
        }
        return hops;
    }

    static void sh(String ns, String command) throws Exception {
        run(List.of("ip", "netns", "exec", ns, "sh", "-c", command));
    }

    public static String run(List<String> cmd) throws IOException {
        return io.l4mesh.node.packet.Commands.run(cmd);
    }

    /** The command that runs this l4mesh in a child process (same JVM, class path and flags). */
    public static List<String> selfCommand() {
        return L4meshCli.childCommand(List.of("-Xmx128m"), List.of());
    }
}
