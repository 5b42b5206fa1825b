package io.l4mesh.node;

import io.l4mesh.hashring.FlowHash;
import io.l4mesh.hashring.HashAlgorithm;
import io.l4mesh.node.admin.AdminServer;
import io.l4mesh.node.admin.NodeControl;
import io.l4mesh.node.admin.NodeStatus;
import io.l4mesh.node.config.ConfigLoader;
import io.l4mesh.membership.ClusterKey;
import io.l4mesh.node.config.BackendConfig;
import io.l4mesh.node.config.HostPort;
import io.l4mesh.node.config.ListenerConfig;
import io.l4mesh.node.config.NodeConfig;
import io.l4mesh.node.config.PoolConfig;
import io.l4mesh.node.config.Protocol;
import io.l4mesh.node.health.HealthChecker;
import io.l4mesh.node.log.Log;
import io.l4mesh.node.mesh.Mesh;
import io.l4mesh.node.log.ErrorLog;
import io.l4mesh.node.metrics.MetricName;
import io.l4mesh.node.metrics.NodeMetrics;
import io.l4mesh.node.proxy.ListenerRuntime;
import io.l4mesh.node.proxy.ProxyListener;
import io.l4mesh.node.proxy.TcpListener;
import io.l4mesh.node.proxy.UdpListener;
import io.l4mesh.node.routing.BackendRuntime;
import io.l4mesh.node.routing.Health;
import io.l4mesh.node.routing.PoolEvents;
import io.l4mesh.node.routing.PoolException;
import io.l4mesh.node.routing.Placement;
import io.l4mesh.node.routing.PoolRuntime;
import io.l4mesh.node.routing.RoutingSnapshot;
import io.l4mesh.node.transport.Transport;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.logging.Logger;

/**
 * One l4mesh node: its pools, listeners, health checker and admin API, wired together.
 *
 * <pre>{@code
 * try (Node node = Node.start(ConfigLoader.load(path))) {
 *     node.awaitShutdown();
 * }
 * }</pre>
 *
 * <p>Threading: one control thread ({@code l4mesh-control}) owns every pool and listener change, health
 * transitions and reloads; callers from other threads go through {@link #call}. Event loops read only routing
 * snapshots and listener settings.
 */
public final class Node implements AutoCloseable, NodeControl {
    public static final String VERSION = "0.1.0";
    private static final Logger LOG = Log.logger(Node.class);
    private static final long CONTROL_CALL_TIMEOUT_MS = 30_000;

    private final ScheduledExecutorService control = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "l4mesh-control");
        t.setDaemon(true);
        return t;
    });
    private final long startedNanos = System.nanoTime();
    private final Transport transport;
    private final int workerThreads;
    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final HealthChecker health;
    private final NodeMetrics metrics;
    private final ErrorLog errors;
    /** Fault seams (off until a test or the chaos suite sets them through {@code /fault/*}). */
    private final io.l4mesh.node.fault.FaultInjector faults = new io.l4mesh.node.fault.FaultInjector();
    private final HashAlgorithm algorithm = HashAlgorithm.latest();
    /** Control thread only. */
    private final Map<String, PoolRuntime> pools = new LinkedHashMap<>();
    /** Control thread only. */
    private final Map<String, ProxyListener> listeners = new LinkedHashMap<>();
    /** The listeners and pools as last changed on the control thread, for readers on any thread (status, checks). */
    private volatile List<ProxyListener> listenerView = List.of();
    private volatile List<PoolRuntime> poolView = List.of();
    private final Events events = new Events();
    private volatile NodeConfig config;
    private volatile boolean draining;
    private AdminServer admin;
    /** The mesh this node belongs to, or null when it runs alone. Control thread, except the read accessors. */
    private volatile Mesh mesh;
    /** Flow-table sync with the other members, or null (no mesh, or sync off). */
    private volatile io.l4mesh.node.flow.FlowSync flowSync;
    /** False until this node has pulled its peers' flows (only with flow sync): packet VIPs wait for it. */
    private volatile boolean flowsReady = true;

    private Node(NodeConfig config) {
        this.config = config;
        this.transport = Transport.select(config.transport());
        this.workerThreads = config.ioThreads() > 0 ? config.ioThreads() : Runtime.getRuntime().availableProcessors();
        this.boss = transport.newGroup(1, "l4mesh-accept");
        this.workers = transport.newGroup(workerThreads, "l4mesh-io");
        this.metrics = new NodeMetrics(config.nodeId());
        this.errors = new ErrorLog(kind -> metrics.counter(MetricName.ERRORS, "kind", kind));
        countReloadMetric(true, 0);
        countReloadMetric(false, 0);
        this.health = new HealthChecker(transport, control, faults);
    }

    /**
     * Starts a node: every pool, listener and the admin API, or nothing (on failure everything already opened is
     * closed again and the exception says what failed).
     */
    public static Node start(NodeConfig config) throws Exception {
        ClusterKey key = null;
        if (config.mesh() != null) {
            try {
                key = ClusterKey.load(config.mesh().keyFile(), System.getenv());
            } catch (IllegalArgumentException e) {
                throw new io.l4mesh.node.config.ConfigException("membership.keyFile", e.getMessage());
            }
        }
        Node node = new Node(config);
        try {
            node.call(() -> {
                for (PoolConfig p : config.pools().values()) {
                    node.pools.put(p.name(), node.newPool(p));
                }
                if (config.mesh() != null) {
                    node.mesh = new Mesh(config.nodeId(), node.pools, config.pools(), config.dataDir(), node.control,
                        node::adminHostPort, node.faults.gossip());
                    node.metrics.bind(node.mesh, node.pools.keySet());
                }
                node.publishViews();
                return null;
            });
            // flow sync serves packet mode; a node with proxy listeners only does not open its port
            if (config.mesh() != null && config.mesh().flowSync().enabled()
                && config.listeners().stream().anyMatch(l -> l.packet() != null)) {
                node.startFlowSync(config.mesh(), key);
            }
            node.call(() -> {
                node.bindAll(config.listeners());
                return null;
            });
            if (config.admin() != null) {
                node.admin = new AdminServer(node, config.admin());
                node.admin.bind();
            }
            if (node.mesh != null) {
                node.mesh.join(config.mesh(), key);
            }
            if (node.flowSync != null) {
                Thread.ofVirtual().name("l4mesh-flow-snapshot-pull").start(node::pullFlowsThenAnnounce);
            }
        } catch (Exception e) {
            node.close();
            throw e;
        }
        for (String w : ConfigLoader.warnings(config)) {
            Log.warn(LOG, "config.warning", "detail", w);
        }
        Log.info(LOG, "node.started", "node", config.nodeId(), "transport", node.transport.name(),
            "listeners", config.listeners().size(), "pools", config.pools().size(),
            "admin", node.admin == null ? "off" : HostPort.format(node.admin.boundAddress()));
        return node;
    }

    private void startFlowSync(io.l4mesh.node.config.MeshConfig mc, ClusterKey key) throws Exception {
        InetSocketAddress bind = new InetSocketAddress(mc.bind().host(), mc.flowSyncPort());
        Mesh m = mesh;
        flowSync = new io.l4mesh.node.flow.FlowSync(config.nodeId(), bind, key.bytes(), mc.flowSync(), m::syncPeers);
        flowSync.dropOutgoing(seq -> faults.dropSyncDatagram());
        flowsReady = false;
        m.syncAddress(HostPort.format(flowSync.bound()));
        metrics.bind(flowSync);
    }

    /**
     * Pulls the peers' flows (waiting up to {@code flowSync.snapshotTimeout} for a peer when seeds are configured),
     * then routes the packet listeners' VIPs: a node attracts traffic only once it can place established flows.
     */
    private void pullFlowsThenAnnounce() {
        io.l4mesh.node.flow.FlowSync fs = flowSync;
        boolean pulled = fs.pullFromAnyPeer(!config.mesh().seeds().isEmpty());
        if (!pulled) {
            Log.info(LOG, "flowsync.no_snapshot", "detail", "no peer answered in "
                + config.mesh().flowSync().snapshotTimeout() + "; announcing with this node's flows only");
        }
        try {
            call(() -> {
                flowsReady = true;
                for (ProxyListener l : listeners.values()) {
                    if (l instanceof io.l4mesh.node.packet.PacketListener p && !draining) {
                        p.announce();
                    }
                }
                return null;
            });
        } catch (Exception e) {
            Log.warn(LOG, "packet.announce_failed", "detail", e.toString());
        }
    }

    /** The node's flow sync, or null. */
    public io.l4mesh.node.flow.FlowSync flowSync() {
        return flowSync;
    }

    /**
     * Runs {@code task} on the control thread; the future completes with its result or its exception, and never
     * blocks the caller. A task the control thread has not started within {@code CONTROL_CALL_TIMEOUT_MS} fails
     * with a timeout and is then skipped, so a caller told "not applied" can trust it.
     */
    public <T> CompletableFuture<T> submit(Callable<T> task) {
        CompletableFuture<T> f = new CompletableFuture<>();
        try {
            control.execute(() -> {
                if (f.isDone()) {
                    return;     // timed out before it ran: the caller was told it did not happen
                }
                try {
                    f.complete(task.call());
                } catch (Throwable t) {
                    f.completeExceptionally(t);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            f.completeExceptionally(new IllegalStateException("the node is stopping"));
        }
        return f.orTimeout(CONTROL_CALL_TIMEOUT_MS, TimeUnit.MILLISECONDS);
    }

    /** Runs {@code task} on the control thread and waits for its result (or throws its exception). */
    public <T> T call(Callable<T> task) throws Exception {
        try {
            return submit(task).get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof TimeoutException) {
                throw new IllegalStateException("control thread did not answer in " + CONTROL_CALL_TIMEOUT_MS + " ms");
            }
            if (e.getCause() instanceof Exception ex) {
                throw ex;
            }
            throw e;
        }
    }

    public NodeConfig config() {
        return config;
    }

    public NodeMetrics metrics() {
        return metrics;
    }

    private String adminHostPort() {
        InetSocketAddress a = adminAddress();
        return a == null ? "" : HostPort.format(a);
    }

    /**
     * The self-check behind {@code /healthz}: null when this node can serve, else why not. A packet-mode listener
     * whose pool has no backend to take flows fails it, so the node's announcer withdraws the VIP and the router
     * sends the traffic to nodes that can place it. Any thread: it reads only published state (the listeners as last
     * changed, the pools' snapshots), so a busy control thread cannot make {@code /healthz} slow and the announcer
     * withdraw a node that can serve.
     */
    public String selfCheck() {
        if (!flowsReady) {
            return "flow snapshot from the peers pending";
        }
        for (ProxyListener l : listenerView) {
            ListenerRuntime rt = l.runtime();
            if (rt.config().packet() != null && rt.pool().snapshot().eligibleCount() == 0) {
                return "listener " + rt.name() + ": no backend of pool " + rt.pool().name() + " takes flows";
            }
        }
        return null;
    }

    /** The node's fault seams (reachable through the admin API only when fault injection is on). */
    public io.l4mesh.node.fault.FaultInjector faults() {
        return faults;
    }

    /** The mesh, or null when this node runs alone. */
    public Mesh mesh() {
        return mesh;
    }

    @Override
    public CompletableFuture<Void> changeBackend(String poolName, String id, int weight, Boolean draining,
                                                 boolean remove) {
        return submit(() -> {
            applyChange(poolName, id, weight, draining, remove);
            return null;
        });
    }

    @Override
    public CompletableFuture<Void> addBackends(String poolName, List<BackendConfig> adds) {
        return submit(() -> {
            applyAdd(poolName, adds);
            return null;
        });
    }

    /**
     * Changes a backend of a pool (admin API, CLI): through the mesh when there is one, so every node applies it.
     * Control thread.
     *
     * @param weight   new weight, or -1 to keep
     * @param draining new drain flag, or null to keep
     */
    private void applyChange(String poolName, String id, int weight, Boolean draining, boolean remove)
        throws PoolException {
        PoolRuntime pool = pools.get(poolName);
        if (pool == null) {
            throw new PoolException(PoolException.Kind.NOT_FOUND, "no pool named '" + poolName + "'");
        }
        if (weight >= 0 && BackendConfig.weightError(weight) != null) {     // -1: keep the weight
            throw new PoolException(PoolException.Kind.INVALID, BackendConfig.weightError(weight));
        }
        Mesh m = mesh;
        if (m == null) {
            if (remove) {
                pool.remove(id);
            } else {
                if (pool.find(id) == null) {
                    throw new PoolException(PoolException.Kind.NOT_FOUND, "no backend " + id + " in pool " + poolName);
                }
                if (weight >= 0) {
                    pool.weight(id, weight);
                }
                if (draining != null) {
                    pool.draining(id, draining);
                }
            }
            return;
        }
        m.write(poolName, id, weight, draining, remove);
    }

    /**
     * Adds several backends to a pool as one change: all are checked first (none already in the pool, none twice,
     * every host resolves), then added with one table rebuild, through the mesh when there is one (one gossip
     * message). Control thread.
     */
    private void applyAdd(String poolName, List<BackendConfig> adds) throws PoolException {
        PoolRuntime pool = pools.get(poolName);
        if (pool == null) {
            throw new PoolException(PoolException.Kind.NOT_FOUND, "no pool named '" + poolName + "'");
        }
        Mesh m = mesh;
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (BackendConfig b : adds) {
            boolean present = m != null ? m.has(poolName, b.id()) : pool.find(b.id()) != null;
            if (present || !seen.add(b.id())) {
                throw new PoolException(PoolException.Kind.CONFLICT, "backend " + b.id() + " is already in pool "
                    + poolName);
            }
            try {
                b.address().resolve();
            } catch (java.net.UnknownHostException e) {
                throw new PoolException(PoolException.Kind.INVALID, "cannot resolve host '" + b.address().host()
                    + "'");
            }
        }
        if (m == null) {
            pool.batch(() -> {
                for (BackendConfig b : adds) {
                    pool.add(b);
                }
            });
            return;
        }
        m.writeAll(adds.stream().map(b -> new Mesh.Change(poolName, b.id(), b.weight(), b.draining(), false))
            .toList());
    }

    /** The admin API's bound address, or null when disabled. */
    public InetSocketAddress adminAddress() {
        return admin == null ? null : admin.boundAddress();
    }

    /** The address a listener is bound to (port 0 resolved). Any thread. */
    public InetSocketAddress listenerAddress(String name) throws Exception {
        return call(() -> {
            ProxyListener l = listeners.get(name);
            return l == null ? null : l.boundAddress();
        });
    }

    /** A pool by name, for control-thread code ({@link #call}). */
    public PoolRuntime pool(String name) {
        return pools.get(name);
    }

    private PoolRuntime newPool(PoolConfig p) throws Exception {
        PoolRuntime pool = new PoolRuntime(p, config.maglevTableSize(), algorithm, events);
        metrics.bind(pool);
        return pool;
    }

    private void bindAll(List<ListenerConfig> configs) throws Exception {
        List<ProxyListener> bound = new ArrayList<>();
        try {
            for (ListenerConfig lc : configs) {
                ProxyListener l = newListener(lc);
                l.bind();
                bound.add(l);
                Log.info(LOG, "listener.bound", "listener", lc.name(), "protocol", lc.protocol().name().toLowerCase(),
                    "bind", HostPort.format(l.boundAddress()), "pool", lc.pool(), "algorithm",
                    lc.algorithm().configName());
            }
        } catch (Exception e) {
            bound.forEach(ProxyListener::stopAccepting);
            throw new IllegalStateException("cannot bind listener: " + e.getMessage(), e);
        }
        for (ProxyListener l : bound) {
            listeners.put(l.runtime().name(), l);
            publishViews();
            metrics.bind(l.runtime());
            if (l instanceof io.l4mesh.node.packet.PacketListener p) {
                metrics.bind(p);
                if (p.runtime().config().protocol() == Protocol.TCP) {
                    health.tunnel(p.runtime().pool().name(), p.boundAddress(), p.steering());
                }
            }
        }
    }

    private ProxyListener newListener(ListenerConfig lc) {
        ListenerRuntime rt = new ListenerRuntime(lc, pools.get(lc.pool()), control, errors);
        if (lc.packet() != null) {
            return new io.l4mesh.node.packet.PacketListener(rt, lc.packet(), flowSync, flowsReady);
        }
        return lc.protocol() == Protocol.TCP
            ? new TcpListener(rt, transport, boss, workers)
            : new UdpListener(rt, transport, workers, workerThreads);
    }

    /**
     * Reads the config file again and applies it without a restart (SIGHUP, {@code POST /reload}). Listeners whose
     * name, protocol and bind address are unchanged keep their socket and their open connections; pools keep the
     * runtime state of backends still present. If the file does not validate, a new listener cannot bind or a new
     * backend cannot be resolved, nothing changes and the future fails with why. Counted in
     * {@code l4mesh_config_reloads_total} either way.
     */
    @Override
    public CompletableFuture<String> reloadFromFile() {
        java.nio.file.Path source = config.source();
        if (source == null) {
            return CompletableFuture.failedFuture(
                new IllegalStateException("this node was not started from a config file"));
        }
        return submit(() -> {
            NodeConfig next = ConfigLoader.load(source);
            if (next.maglevTableSize() != config.maglevTableSize() || next.transport() != config.transport()
                || next.ioThreads() != config.ioThreads() || !java.util.Objects.equals(next.admin(), config.admin())) {
                Log.warn(LOG, "config.reload_partial", "detail",
                    "maglev.tableSize, runtime.* and admin.* take effect on restart only");
            }
            applyReload(next);
            Log.info(LOG, "config.reloaded", "listeners", next.listeners().size(), "pools", next.pools().size());
            return source.toString();
        }).whenComplete((ok, e) -> {
            countReloadMetric(e == null, 1);
            if (e != null) {
                Log.warn(LOG, "config.reload_rejected", "detail", e.getMessage() + " (nothing changed)");
            }
        });
    }

    private void applyReload(NodeConfig next) throws Exception {
        for (PoolConfig p : next.pools().values()) {
            for (var b : p.backends()) {
                try {
                    b.address().resolve();
                } catch (java.net.UnknownHostException e) {
                    throw new IllegalArgumentException("pools." + p.name() + ": cannot resolve host '"
                        + b.address().host() + "'");
                }
            }
        }
        Map<String, PoolRuntime> created = new LinkedHashMap<>();
        for (PoolConfig p : next.pools().values()) {
            if (!pools.containsKey(p.name())) {
                created.put(p.name(), newPool(p));
            }
        }
        Map<String, PoolRuntime> all = new LinkedHashMap<>(pools);
        all.putAll(created);
        List<ListenerConfig> toBind = new ArrayList<>();
        List<ProxyListener> toStop = new ArrayList<>();
        for (ProxyListener l : listeners.values()) {
            ListenerConfig now = next.listener(l.runtime().name());
            if (now == null || now.protocol() != l.runtime().config().protocol()
                || !now.bind().equals(l.runtime().config().bind())) {
                toStop.add(l);
            }
        }
        for (ListenerConfig lc : next.listeners()) {
            ProxyListener cur = listeners.get(lc.name());
            if (cur == null || toStop.contains(cur)) {
                toBind.add(lc);
            }
        }
        // Stop replaced listeners first only where the new one needs the same address.
        List<ListenerConfig> conflicting = toBind.stream().filter(lc -> toStop.stream().anyMatch(s ->
            s.runtime().config().bind().equals(lc.bind()) && s.runtime().config().protocol() == lc.protocol())).toList();
        List<ListenerConfig> fresh = toBind.stream().filter(lc -> !conflicting.contains(lc)).toList();
        pools.putAll(created);
        try {
            bindAllReplacing(fresh, toStop, conflicting);
        } catch (Exception e) {
            created.keySet().forEach(pools::remove);
            created.values().forEach(this::dropPool);
            publishViews();
            throw e;
        }
        // The file is the truth for every pool it names, alone or in a mesh (README "Reload").
        if (mesh == null) {
            for (PoolConfig p : next.pools().values()) {
                if (!created.containsKey(p.name())) {
                    pools.get(p.name()).apply(p);     // built from the file when created
                }
            }
        } else {
            for (PoolConfig p : next.pools().values()) {
                pools.get(p.name()).settings(p);
            }
            mesh.reload(next.pools().values(), created.keySet());
        }
        for (ListenerConfig lc : next.listeners()) {
            ProxyListener l = listeners.get(lc.name());
            l.runtime().update(lc, all.get(lc.pool()));
        }
        for (String name : new ArrayList<>(pools.keySet())) {
            if (!next.pools().containsKey(name)) {
                dropPool(pools.remove(name));
            }
        }
        config = next;
        publishViews();
    }

    /** A listener's bound address as text, read from another thread ("-" while it closes). */
    private static String bound(ProxyListener l) {
        try {
            InetSocketAddress a = l.boundAddress();
            return a == null ? "-" : HostPort.format(a);
        } catch (RuntimeException closing) {
            return "-";
        }
    }

    /** Control thread: the listener and pool lists that other threads read, after every change to either. */
    private void publishViews() {
        listenerView = List.copyOf(listeners.values());
        poolView = List.copyOf(pools.values());
    }

    private void bindAllReplacing(List<ListenerConfig> fresh, List<ProxyListener> toStop,
                                  List<ListenerConfig> conflicting) throws Exception {
        List<String> before = new ArrayList<>(listeners.keySet());
        bindAll(fresh);
        for (ProxyListener l : toStop) {
            if (listeners.get(l.runtime().name()) == l) {
                listeners.remove(l.runtime().name());
                publishViews();
            }
            l.stopAccepting();
            metrics.unbind(l.runtime());
            metrics.unbind(l);
            if (l instanceof io.l4mesh.node.packet.PacketListener p) {
                health.untunnel(p.runtime().pool().name(), p.steering());
            }
        }
        try {
            bindAll(conflicting);
        } catch (Exception e) {
            Log.warn(LOG, "config.reload_bind_failed", "detail", e.getMessage(), "kept", before);
            throw e;
        }
    }

    private void dropPool(PoolRuntime p) {
        for (BackendRuntime b : p.backends()) {
            health.unwatch(b);
            metrics.unbind(b);
        }
        metrics.unbind(p);
    }

    /**
     * Current status. Any thread, without waiting for the control thread: it reads the published listener and pool
     * lists, the pools' snapshots and the counters.
     */
    public NodeStatus status() {
        return statusNow();
    }

    private NodeStatus statusNow() {
        List<NodeStatus.Listener> ls = new ArrayList<>();
        long flows = 0;
        for (ProxyListener pl : listenerView) {
            ListenerRuntime l = pl.runtime();
            ListenerConfig c = l.config();
            flows += l.activeFlows();
            ls.add(new NodeStatus.Listener(c.name(), c.protocol().name().toLowerCase(),
                bound(pl), c.pool(), c.algorithm().configName(), l.activeFlows(),
                c.maxConnections(), l.acceptedTotal(), l.rejectedLimitTotal(), l.rejectedNoBackendTotal(),
                l.rejectedConnectFailedTotal(), l.idleTimeoutsTotal(), l.resetsTotal(), l.bytesInTotal(),
                l.bytesOutTotal()));
        }
        List<NodeStatus.Pool> ps = new ArrayList<>();
        for (PoolRuntime p : poolView) {
            RoutingSnapshot s = p.snapshot();
            int[] slots = s.table().slotCounts();
            List<NodeStatus.Backend> bs = new ArrayList<>();
            List<BackendRuntime> list = s.backends();
            for (int i = 0; i < list.size(); i++) {
                BackendRuntime b = list.get(i);
                bs.add(new NodeStatus.Backend(b.id(), b.weight(), b.draining(), b.health().name().toLowerCase(),
                    b.healthReason(), b.localHealth().name().toLowerCase(), b.localReason(), b.eligible(),
                    b.activeFlows(), b.totalFlows(), b.totalConnectFailures(), slots[i]));
            }
            ps.add(new NodeStatus.Pool(p.name(), s.version(), String.format("%016x", s.table().fingerprint()),
                s.eligibleCount(), bs));
        }
        return new NodeStatus(config.nodeId(), VERSION, (System.nanoTime() - startedNanos) / 1_000_000_000L,
            transport.name(), draining, algorithm.id(), config.maglevTableSize(), flows, ls, ps);
    }

    /**
     * Which backend a new flow from {@code source} to {@code destination} (null: the listener's address) would
     * get now. Any thread.
     */
    @Override
    public NodeStatus.Lookup lookup(String listenerName, InetSocketAddress source, InetSocketAddress destination) {
        ProxyListener pl = listenerView.stream().filter(x -> x.runtime().name().equals(listenerName)).findFirst()
            .orElse(null);
        if (pl == null) {
            throw new IllegalArgumentException("no listener named '" + listenerName + "'");
        }
        ListenerRuntime l = pl.runtime();
        InetSocketAddress dst = destination != null ? destination : pl.boundAddress();
        PoolRuntime p = l.pool();
        RoutingSnapshot s = p.snapshot();
        long seed = s.table().algorithm().flowSeed();
        int proto = l.config().protocol().number();
        byte[] src = source.getAddress().getAddress();
        long h = FlowHash.of(seed, src, source.getPort(), dst.getAddress().getAddress(), dst.getPort(), proto);
        long srcHash = FlowHash.sourceOnly(seed, src);
        BackendRuntime b = s.peek(l.config().algorithm(), h, srcHash, p.nextTicket());
        int slot = switch (l.config().algorithm()) {
            case MAGLEV -> s.table().slotOf(h);
            case SOURCE_IP -> s.table().slotOf(srcHash);
            default -> -1;
        };
        String hashed = b == null ? null : b.id();
        String backend = hashed;
        String placedBy = l.config().algorithm().configName();
        long[] rec = new long[3];
        long hi = io.l4mesh.node.flow.FlowTable.keyHi(src);
        long lo = io.l4mesh.node.flow.FlowTable.keyLo(src);
        int ports = io.l4mesh.node.flow.FlowTable.ports(source.getPort(), dst.getPort());
        long[] rep = new long[3];
        boolean local = l.recordedFlow(hi, lo, ports, rec);
        boolean localEnded = local && rec[2] == io.l4mesh.node.flow.FlowTable.CLOSING;
        boolean inReplica = (!local || localEnded) && l.replicaFlow(hi, lo, ports, rep);
        // the packet path's choice of record, for a packet of the flow (not a SYN)
        int speaker = Placement.speaker(local, localEnded, rec[1], inReplica,
            inReplica && rep[2] == io.l4mesh.node.flow.FlowTable.CLOSING, rep[1], false);
        long recorded = speaker == Placement.SPEAKER_LOCAL ? Placement.known((int) rec[0]) : Placement.UNKNOWN;
        long replica = speaker == Placement.SPEAKER_REPLICA ? Placement.known((int) rep[0]) : Placement.UNKNOWN;
        if (recorded != Placement.UNKNOWN || replica != Placement.UNKNOWN) {
            // the packet path's own rules (a new flow follows the listener's algorithm: hashed above)
            long placed = Placement.place(s, h, recorded, replica);
            int outcome = Placement.outcome(placed);
            if (outcome == Placement.KEPT || outcome == Placement.ADOPTED) {
                backend = s.backendAt(Placement.index(placed)).id();
            }
            placedBy = Placement.name(outcome);
        }
        return new NodeStatus.Lookup(listenerName, p.name(), l.config().algorithm().configName(),
            HostPort.format(source), HostPort.format(dst), l.config().protocol().name().toLowerCase(),
            backend, String.format("%016x", h), slot, placedBy, hashed);
    }

    /**
     * Graceful stop: withdraws the packet listeners' VIPs and keeps forwarding for {@code runtime.withdrawDelay},
     * stops accepting on every listener (UDP listeners close, ending their sessions), waits until open TCP
     * connections end or {@code grace} passes, then closes everything.
     *
     * @return the number of connections still open when the grace period ended (closed by force)
     */
    public int drainAndClose(Duration grace) {
        draining = true;
        int left = 0;
        try {
            // packet VIPs: withdraw the announced routes, keep placing what is still on its way until the router
            // has moved the traffic, then close the TUN devices (closing first answered a SYN with "no route")
            boolean withdrew = call(() -> {
                boolean any = false;
                for (ProxyListener l : listeners.values()) {
                    if (l instanceof io.l4mesh.node.packet.PacketListener p) {
                        any |= p.withdraw();
                    }
                }
                return any;
            });
            if (withdrew && !config.withdrawDelay().isZero()) {
                Log.info(LOG, "node.withdrawn", "forwarding_for", config.withdrawDelay());
                Thread.sleep(config.withdrawDelay().toMillis());
            }
            // listeners first: a packet listener's VIP route goes with its TUN, so the router stops sending at once
            List<ListenerRuntime> runtimes = call(() -> {
                List<ListenerRuntime> r = new ArrayList<>();
                for (ProxyListener l : listeners.values()) {
                    l.stopAccepting();
                    r.add(l.runtime());
                }
                return r;
            });
            Mesh m = mesh;
            if (m != null) {
                m.close();   // peers drop this node at once rather than waiting for failure detection
            }
            Log.info(LOG, "node.draining", "grace", grace, "open", openFlows(runtimes));
            long deadline = System.nanoTime() + grace.toNanos();
            while ((left = openFlows(runtimes)) > 0 && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
        } catch (Exception e) {
            Log.warn(LOG, "node.drain_failed", "detail", e.toString());
        }
        Log.info(LOG, "node.stopped", "forced", left);
        close();
        return left;
    }

    private static int openFlows(List<ListenerRuntime> runtimes) {
        return runtimes.stream().mapToInt(ListenerRuntime::activeFlows).sum();
    }

    public boolean draining() {
        return draining;
    }

    @Override
    public void close() {
        Mesh m = mesh;
        if (m != null) {
            m.close();
        }
        if (admin != null) {
            admin.close();
        }
        try {
            call(() -> {
                listeners.values().forEach(ProxyListener::stopAccepting);
                return null;
            });
        } catch (Exception ignored) {
            // The control thread is gone already: nothing left to stop there.
        }
        io.l4mesh.node.flow.FlowSync fs = flowSync;
        if (fs != null) {
            fs.close();
        }
        boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        health.close();
        control.shutdownNow();
    }

    /** Wires pool events to the health checker, metrics and the log. Control thread. */
    private final class Events implements PoolEvents {
        @Override
        public void backendAdded(PoolRuntime pool, BackendRuntime backend) {
            metrics.bind(pool, backend);
            health.watch(pool, backend);
        }

        @Override
        public void backendRemoved(PoolRuntime pool, BackendRuntime backend) {
            health.unwatch(backend);
            metrics.unbind(backend);
            Log.info(LOG, "backend.removed", "pool", pool.name(), "backend", backend.id(),
                "open", backend.activeFlows());
        }

        @Override
        public void healthChanged(PoolRuntime pool, BackendRuntime backend, Health h, String reason) {
            Log.info(LOG, h == Health.UP ? "backend.up" : "backend.down", "pool", pool.name(), "backend",
                backend.id(), "reason", reason);
        }

        @Override
        public void localHealthChanged(PoolRuntime pool, BackendRuntime backend, Health h, String reason) {
            Log.info(LOG, h == Health.UP ? "backend.local_up" : "backend.local_down", "pool", pool.name(), "backend",
                backend.id(), "reason", reason);
            Mesh m = mesh;
            if (m == null) {
                pool.health(backend.id(), h, reason);   // alone, this node's observation is the verdict
            } else {
                m.publish();                             // the mesh rule decides, from every node's observations
            }
        }

        @Override
        public void snapshotPublished(PoolRuntime pool, RoutingSnapshot snapshot) {
            Mesh m = mesh;
            if (m != null) {
                m.publish();
            }
            Log.debug(LOG, "pool.snapshot", "pool", pool.name(), "version", snapshot.version(), "eligible",
                snapshot.eligibleCount(), "fingerprint", String.format("%016x", snapshot.table().fingerprint()));
        }
    }

    private void countReloadMetric(boolean ok, int n) {
        metrics.counter(MetricName.CONFIG_RELOADS, "result", ok ? "ok" : "invalid").increment(n);
    }
}
