package io.l4mesh.node;

import io.l4mesh.hashring.HashAlgorithm;
import io.l4mesh.node.admin.AdminServer;
import io.l4mesh.node.admin.NodeControl;
import io.l4mesh.node.admin.NodeStatus;
import io.l4mesh.node.config.ConfigLoader;
import io.l4mesh.membership.ClusterKey;
import io.l4mesh.node.config.BackendConfig;
import io.l4mesh.node.config.HostPort;
import io.l4mesh.node.config.NodeConfig;
import io.l4mesh.node.config.PoolConfig;
import io.l4mesh.node.health.HealthChecker;
import io.l4mesh.node.log.Log;
import io.l4mesh.node.mesh.Mesh;
import io.l4mesh.node.log.ErrorLog;
import io.l4mesh.node.metrics.MetricName;
import io.l4mesh.node.metrics.NodeMetrics;
import io.l4mesh.node.telemetry.Telemetry;
import io.l4mesh.node.proxy.ListenerRuntime;
import io.l4mesh.node.proxy.ProxyListener;
import io.l4mesh.node.routing.PoolRuntime;
import io.l4mesh.node.transport.Transport;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.logging.Logger;

/**
 * One l4mesh node: its lifecycle (start, drain, stop) and its control thread, wiring the rooms that do the work:
 * {@link Pools} (the control plane: pools and every change to them), {@link Listeners} (bind, rebind on reload,
 * announce and withdraw packet VIPs) and {@link Queries} (status, lookup, the self-check, from published state).
 * The admin API sees it only as {@link NodeControl}.
 *
 * <pre>{@code
 * try (Node node = Node.start(ConfigLoader.load(path))) {
 *     ...
 *     node.drainAndClose(grace);
 * }
 * }</pre>
 *
 * <p>Threading: one control thread ({@code l4mesh-control}) owns every pool and listener change, health
 * transitions and reloads; other threads hand it work through {@link #submit} (a future) and never wait on it to
 * read: queries answer from what it last published. Event loops read only routing snapshots and listener settings.
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
    /** Spans for the control plane (OTLP when configured, else off). */
    private final Telemetry telemetry;
    private final ErrorLog errors;
    /** Fault seams (off until a test or the chaos suite sets them through {@code /fault/*}). */
    private final io.l4mesh.node.fault.FaultInjector faults = new io.l4mesh.node.fault.FaultInjector();
    private final HashAlgorithm algorithm = HashAlgorithm.latest();
    /** The control plane: pools and every change to them. */
    private final Pools pools;
    /** Listeners of both planes: bind, rebind, announce, withdraw, stop. */
    private final Listeners listeners;
    /** Status, lookup and the self-check, from published state. */
    private final Queries queries;
    private volatile NodeConfig config;
    private volatile boolean draining;
    private AdminServer admin;
    /** The mesh this node belongs to, or null when it runs alone. Control thread, except the read accessors. */
    private volatile Mesh mesh;
    /** Flow-table sync with the other members, or null (no mesh, or sync off). */
    private volatile io.l4mesh.node.flow.FlowSync flowSync;

    private Node(NodeConfig config, Telemetry telemetry) {
        this.telemetry = telemetry;
        this.config = config;
        this.transport = Transport.select(config.transport());
        this.workerThreads = config.ioThreads() > 0 ? config.ioThreads() : Runtime.getRuntime().availableProcessors();
        this.boss = transport.newGroup(1, "l4mesh-accept");
        this.workers = transport.newGroup(workerThreads, "l4mesh-io");
        this.metrics = new NodeMetrics(config.nodeId(), config.telemetry());
        this.errors = new ErrorLog(kind -> metrics.counter(MetricName.ERRORS, "kind", kind));
        countReloadMetric(true, 0);
        countReloadMetric(false, 0);
        this.health = new HealthChecker(transport, control, faults);
        this.pools = new Pools(config.maglevTableSize(), algorithm, metrics, health, telemetry);
        this.listeners = new Listeners(transport, boss, workers, workerThreads, control, errors, metrics, health);
        this.queries = new Queries(() -> this.config, listeners, pools, transport.name(), algorithm,
            () -> draining);
    }

    /**
     * Starts a node: every pool, listener and the admin API, or nothing (on failure everything already opened is
     * closed again and the exception says what failed).
     */
    public static Node start(NodeConfig config) throws Exception {
        return start(config, Telemetry.start(config.nodeId(), config.telemetry()));
    }

    /** As {@link #start(NodeConfig)}, with the spans going to {@code telemetry} (tests: an in-memory exporter). */
    public static Node start(NodeConfig config, Telemetry telemetry) throws Exception {
        ClusterKey key = null;
        if (config.mesh() != null) {
            try {
                key = ClusterKey.load(config.mesh().keyFile(), System.getenv());
            } catch (IllegalArgumentException e) {
                throw new io.l4mesh.node.config.ConfigException("membership.keyFile", e.getMessage());
            }
        }
        Node node = new Node(config, telemetry);
        try {
            node.call(() -> {
                node.pools.create(config.pools().values());
                if (config.mesh() != null) {
                    node.mesh = new Mesh(config.nodeId(), node.pools.registry(), config.pools(), config.dataDir(),
                        node.control, node::adminHostPort, node.faults.gossip());
                    node.mesh.telemetry(telemetry);
                    node.mesh.loadSource(node::load);
                    node.pools.mesh(node.mesh);
                    node.metrics.bind(node.mesh, config.pools().keySet());
                }
                return null;
            });
            // flow sync serves packet mode; a node with proxy listeners only does not open its port
            if (config.mesh() != null && config.mesh().flowSync().enabled()
                && config.listeners().stream().anyMatch(l -> l.packet() != null)) {
                node.startFlowSync(config.mesh(), key);
            }
            node.call(() -> {
                node.listeners.bindAll(config.listeners(), node.pools::get);
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
        flowSync.telemetry(telemetry);
        listeners.flowSync(flowSync);
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
                listeners.flowsPulled(draining);
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
     * The self-check behind {@code /healthz}: null when this node can serve, else why not (a packet listener whose
     * pool has no backend to take flows, or flows not yet pulled from the peers). Any thread, from published state.
     */
    @Override
    public String selfCheck() {
        return queries.selfCheck();
    }

    /** The node's fault seams (reachable through the admin API only when fault injection is on). */
    public io.l4mesh.node.fault.FaultInjector faults() {
        return faults;
    }

    @Override
    public io.l4mesh.node.mesh.NodeLoad load() {
        return queries.load(config.nodeId());
    }

    /** The mesh, or null when this node runs alone. */
    @Override
    public Mesh mesh() {
        return mesh;
    }

    @Override
    public CompletableFuture<Void> changeBackend(String poolName, String id, int weight, Boolean draining,
                                                 boolean remove) {
        return submit(() -> {
            pools.change(poolName, id, weight, draining, remove);
            return null;
        });
    }

    @Override
    public CompletableFuture<Void> addBackends(String poolName, List<BackendConfig> adds) {
        return submit(() -> {
            pools.add(poolName, adds);
            return null;
        });
    }

    /** The admin API's bound address, or null when disabled. */
    public InetSocketAddress adminAddress() {
        return admin == null ? null : admin.boundAddress();
    }

    /** The address a listener is bound to (port 0 resolved). Any thread. */
    public InetSocketAddress listenerAddress(String name) throws Exception {
        ProxyListener l = listeners.find(name);
        return l == null ? null : l.boundAddress();
    }

    /** A pool by name, for control-thread code ({@link #call}). */
    public PoolRuntime pool(String name) {
        return pools.get(name);
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

    /** Control thread: resolves, creates the new pools, rebinds listeners, then makes the pools the file's. */
    private void applyReload(NodeConfig next) throws Exception {
        for (PoolConfig p : next.pools().values()) {
            for (var b : p.backends()) {
                if (b.address().tryResolve() == null) {
                    throw new IllegalArgumentException("pools." + p.name() + ": " + b.address().unresolvable());
                }
            }
        }
        Map<String, PoolRuntime> created = pools.createMissing(next.pools().values());
        try {
            listeners.reload(next, pools::get);
        } catch (Exception e) {
            pools.forget(created);
            throw e;
        }
        pools.reload(next.pools(), created.keySet());
        listeners.update(next, pools::get);
        config = next;
    }

    /**
     * Current status. Any thread, without waiting for the control thread: it reads the published listener and pool
     * lists, the pools' snapshots and the counters.
     */
    @Override
    public NodeStatus status() {
        return queries.status();
    }

    /**
     * Which backend a new flow from {@code source} to {@code destination} (null: the listener's address) would get
     * now, by the packet path's own rules where the flow is recorded. Any thread.
     */
    @Override
    public NodeStatus.Lookup lookup(String listenerName, InetSocketAddress source, InetSocketAddress destination) {
        return queries.lookup(listenerName, source, destination);
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
            boolean withdrew = call(listeners::withdraw);
            if (withdrew && !config.withdrawDelay().isZero()) {
                Log.info(LOG, "node.withdrawn", "forwarding_for", config.withdrawDelay());
                Thread.sleep(config.withdrawDelay().toMillis());
            }
            // listeners first: a packet listener's VIP route goes with its TUN, so the router stops sending at once
            List<ListenerRuntime> runtimes = call(listeners::stopAccepting);
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
            call(listeners::stopAccepting);
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
        metrics.close();
        telemetry.close();
    }

    private void countReloadMetric(boolean ok, int n) {
        metrics.counter(MetricName.CONFIG_RELOADS, "result", ok ? "ok" : "invalid").increment(n);
    }
}
