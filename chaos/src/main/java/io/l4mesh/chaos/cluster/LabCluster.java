package io.l4mesh.chaos.cluster;

import io.l4mesh.chaos.fault.CrusherProxy;
import io.l4mesh.chaos.fault.InPathProxy;
import io.l4mesh.node.admin.AdminClient;
import io.l4mesh.chaos.lab.Lab;
import io.l4mesh.node.packet.Commands;
import io.l4mesh.node.packet.NetNamespace;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The packet-mode lab as a chaos cluster: three nodes (and a spare) behind the BGP/ECMP router, six backends (three
 * in the pool), one client namespace. Faults are real: signals to the node processes, routing rules at the router
 * ({@code ip rule ... blackhole}) for partitions, the router's links, BIRD itself.
 *
 * <p>A lab the suite builds it also removes ({@link #close}); a lab it was given ({@code --lab DIR}) it leaves.
 */
public final class LabCluster implements Cluster {
    /** The lab the suite builds: 3 nodes + 1 spare, 6 backends with 3 in the pool, fault seams open. */
    public static Lab.Options shape(boolean sync) {
        return new Lab.Options(3, 6, 1, 3, sync, 1, true);
    }

    /** Rules this cluster adds at the router start at this priority (before the main table). */
    static final int RULE_PRIORITY = 100;
    private static final long MEMORY_BOUND = 512L << 20;

    private final Lab lab;
    private final boolean owned;
    private final Lab.State state;
    private final RouteWatcher routes;
    private final NetNamespace.Pinned client;
    private final List<List<String>> rules = new ArrayList<>();
    private final List<String> linksDown = new ArrayList<>();
    private final ClientSide clients;

    private LabCluster(Lab lab, boolean owned) throws IOException {
        this.lab = lab;
        this.owned = owned;
        this.state = lab.state();
        if (state == null) {
            throw new IOException("no lab in " + lab.dir() + " (l4mesh lab up --dir " + lab.dir() + ")");
        }
        this.routes = new RouteWatcher(Lab.VIP);
        this.client = new NetNamespace.Pinned(Lab.clientNamespace(1));
        this.clients = new ClientSide() {
            @Override
            public SocketChannel openTcp() throws IOException {
                return inClient(SocketChannel::open);
            }

            @Override
            public DatagramChannel openUdp() throws IOException {
                return inClient(DatagramChannel::open);
            }

            @Override
            public InetSocketAddress tcpTarget(int i) {
                return new InetSocketAddress(Lab.VIP, Lab.PORT);
            }

            @Override
            public InetSocketAddress udpTarget(int i) {
                return new InetSocketAddress(Lab.UDP_VIP, Lab.UDP_PORT);
            }
        };
    }

    private <T> T inClient(java.util.concurrent.Callable<T> open) throws IOException {
        try {
            return client.call(open);
        } catch (IOException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException(e);
        }
    }

    /** Builds the suite's lab in {@code dir} (replacing any lab recorded there) and waits until it serves. */
    public static LabCluster build(Path dir, boolean sync) throws Exception {
        Lab lab = new Lab(dir);
        lab.up(shape(sync), Lab.selfCommand());
        LabCluster c = new LabCluster(lab, true);
        try {
            c.awaitBaseline(Duration.ofSeconds(90));
        } catch (Exception e) {
            c.close();
            throw e;
        }
        return c;
    }

    /** Uses a lab someone built ({@code l4mesh lab up --dir DIR}); it stays when the suite ends. */
    public static LabCluster attach(Path dir) throws Exception {
        return new LabCluster(new Lab(dir), false);
    }

    /** The lab itself, for lab-only faults. */
    public Lab lab() {
        return lab;
    }

    /** Whether the suite built this lab (and may rebuild or remove it). */
    public boolean owned() {
        return owned;
    }

    /** Whether the lab's nodes have their fault seams open. */
    public boolean faultInjection() {
        return state.faultInjection();
    }

    @Override
    public Target target() {
        return Target.LAB;
    }

    @Override
    public List<Integer> baselineNodes() {
        return Baseline.range(1, state.nodes());
    }

    @Override
    public int spareNode() {
        return state.spareNodes() > 0 ? state.nodes() + 1 : 0;
    }

    @Override
    public boolean running(int n) {
        try {
            return lab.alive("node-" + n);
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public long pid(int n) {
        try {
            return lab.pid("node-" + n);
        } catch (IOException e) {
            return -1;
        }
    }

    @Override
    public void signal(int n, String signal) throws Exception {
        signalProcess("node-" + n, signal);
    }

    private void signalProcess(String name, String signal) throws Exception {
        long pid = lab.pid(name);
        if (pid < 0) {
            throw new IllegalStateException("no process " + name + " in the lab");
        }
        Commands.run(List.of("kill", "-" + signal, Long.toString(pid)));
    }

    @Override
    public void start(int n) throws Exception {
        lab.startNode(n, Lab.selfCommand());
    }

    @Override
    public AdminClient.Response admin(int n, String method, String path, String body) throws Exception {
        return lab.admin(n, method, path, body);
    }

    @Override
    public Set<Integer> serving() {
        return routes.serving();
    }

    @Override
    public void onServingChange(java.util.function.Consumer<Set<Integer>> l) {
        routes.onChange(l);
    }

    @Override
    public String gossipAddress(int n) {
        return Lab.nodeAddress(n) + ":" + Lab.GOSSIP_PORT;
    }

    @Override
    public ClientSide clients() {
        return clients;
    }

    @Override
    public List<Integer> backends() {
        return Baseline.range(1, state.backends());
    }

    @Override
    public List<Integer> baselinePool() {
        return Baseline.range(1, state.poolBackends());
    }

    @Override
    public String pool() {
        return Lab.POOL;
    }

    @Override
    public String backendId(int j) {
        return Lab.backendId(j);
    }

    @Override
    public boolean backendRunning(int j) {
        try {
            return lab.alive("backend-" + j);
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public void killBackend(int j) throws Exception {
        signalProcess("backend-" + j, "KILL");
        awaitGone("backend-" + j);
    }

    private void awaitGone(String name) throws Exception {
        Baseline.await(Duration.ofSeconds(10), name + " gone", () -> {
            try {
                return !lab.alive(name);
            } catch (IOException e) {
                return false;
            }
        });
    }

    /** Starts backend {@code j}'s demo backend and waits until it answers in its namespace. */
    @Override
    public void startBackend(int j) throws Exception {
        lab.startBackend(j, Lab.selfCommand());
        try (NetNamespace.Pinned ns = new NetNamespace.Pinned(Lab.backendNamespace(j))) {
            InetSocketAddress service = new InetSocketAddress("127.0.0.1", Lab.PORT);
            Baseline.await(Duration.ofSeconds(30), "backend-" + j + " answers", () -> {
                try {
                    return ns.call(() -> Baseline.answers(service));
                } catch (Exception e) {
                    return false;
                }
            });
        }
    }

    /**
     * Moves backend {@code j}'s demo backend to port 8081 of its namespace and puts netcrusher on the service's
     * port (8080) in front of it; closing the proxy puts the demo backend back on 8080.
     */
    @Override
    public InPathProxy interpose(int j) throws Exception {
        String behind = "backend-" + j + "-behind";
        List<String> cmd = new ArrayList<>(Lab.selfCommand());
        // the UDP VIP too: both demo backends hold it (SO_REUSEPORT) until the old one goes
        cmd.addAll(List.of("demo-backend", "--name", "backend-" + j, "--bind", "127.0.0.1:" + (Lab.PORT + 1),
            "--bind", Lab.UDP_VIP + ":" + Lab.UDP_PORT));
        lab.startProcess(behind, Lab.backendNamespace(j), cmd);
        NetNamespace.Pinned ns = new NetNamespace.Pinned(Lab.backendNamespace(j));
        InetSocketAddress service = new InetSocketAddress("127.0.0.1", Lab.PORT + 1);
        // the new demo backend answers (warm) before the old one goes, so the service has no gap the probes see
        Baseline.await(Duration.ofSeconds(30), "the moved demo backend answers", () -> {
            try {
                return ns.call(() -> Baseline.answers(service));
            } catch (Exception e) {
                return false;
            }
        });
        ns.call(() -> {
            Baseline.warm(service, 300);
            return null;
        });
        killBackend(j);
        return CrusherProxy.open(ns, new InetSocketAddress("::", Lab.PORT), service, () -> {
            try {
                signalProcess(behind, "KILL");
                awaitGone(behind);
                startBackend(j);
            } finally {
                ns.close();
            }
        });
    }

    @Override
    public void partition(Set<Integer> a, Set<Integer> b) throws Exception {
        for (int x : a) {
            for (int y : b) {
                blackhole(nodeSubnet(x), nodeSubnet(y));
                blackhole(nodeSubnet(y), nodeSubnet(x));
            }
        }
    }

    /**
     * Takes the router's link to node {@code n} down: the router drops its route through it at once, and the node
     * loses its BGP session, its peers and its backends (every path goes through the router). {@link #heal} brings
     * the link back.
     */
    public void routerLinkDown(int n) throws Exception {
        String dev = "rn" + n;
        Commands.run(List.of("ip", "-n", Lab.routerNamespace(), "link", "set", dev, "down"));
        linksDown.add(dev);
    }

    private static String nodeSubnet(int n) {
        return "198.18." + (20 + n) + ".0/24";
    }

    private void blackhole(String from, String to) throws Exception {
        List<String> rule = List.of("ip", "-n", Lab.routerNamespace(), "rule", "add", "from", from, "to", to,
            "blackhole", "priority", Integer.toString(RULE_PRIORITY));
        Commands.run(rule);
        rules.add(rule);
    }

    @Override
    public void heal() throws Exception {
        for (List<String> rule : rules) {
            List<String> del = new ArrayList<>(rule);
            del.set(4, "del");
            Commands.tryRun(del);
        }
        rules.clear();
        for (String dev : linksDown) {
            Commands.run(List.of("ip", "-n", Lab.routerNamespace(), "link", "set", dev, "up"));
        }
        linksDown.clear();
    }

    /** Restarts BIRD on the router (SIGTERM, which removes its routes, then a new BIRD with the same config). */
    public void restartRouterBird() throws Exception {
        signalProcess("bird-r", "TERM");
        awaitGone("bird-r");
        lab.startRouterBird();
    }

    /** Takes the router's BGP session with node {@code n} down and up again ({@code birdc disable/enable}). */
    public void flapBgpSession(int n, Duration down) throws Exception {
        birdc("disable", "n" + n);
        Thread.sleep(down.toMillis());
        birdc("enable", "n" + n);
    }

    private void birdc(String verb, String protocol) throws Exception {
        Commands.run(List.of("birdc", "-s", lab.birdSocket("bird-r").toString(), verb, protocol));
    }

    @Override
    public long detectionWindowMs() {
        return 2 * 500 + 500;   // the lab's health check: fall 2 x interval 500 ms, plus one interval
    }

    @Override
    public long rssBytes(int n) {
        long pid = pid(n);
        return pid > 0 ? Baseline.rss(pid) : 0;
    }

    @Override
    public long memoryBoundBytes() {
        return MEMORY_BOUND;
    }

    @Override
    public boolean flowSync() {
        return state.sync();
    }

    @Override
    public Path keepLogs(Path into) throws Exception {
        lab.keepLogs(into);
        return into;
    }

    @Override
    public void restore() throws Exception {
        heal();
        List<Integer> all = Baseline.range(1, state.allNodes());
        for (int n : all) {
            if (running(n)) {
                signal(n, "CONT");
            }
        }
        int spare = spareNode();
        if (spare > 0 && running(spare)) {
            signal(spare, "TERM");
            Baseline.await(Duration.ofSeconds(30), "spare node " + spare + " stopped", () -> !running(spare));
        }
        if (!lab.alive("bird-r")) {
            lab.startRouterBird();
        }
        for (int j : backends()) {
            if (!backendRunning(j)) {
                startBackend(j);
            }
        }
        for (int n : baselineNodes()) {
            if (!running(n)) {
                start(n);
            }
        }
        awaitBaseline(Duration.ofSeconds(90));
    }

    /** Waits until every baseline node serves, agrees and has the baseline pool (restoring the pool if needed). */
    private void awaitBaseline(Duration timeout) throws Exception {
        List<Integer> nodes = baselineNodes();
        Baseline.awaitBaseline(this, timeout);
        Baseline.await(timeout, "every node announces the VIP", () -> serving().containsAll(nodes)
            && serving().size() == nodes.size());
    }

    @Override
    public void close() throws Exception {
        try {
            heal();
        } finally {
            routes.close();
            client.close();
            if (owned) {
                lab.down();
                Commands.deleteTree(lab.dir());
            }
        }
    }
}
