package io.l4mesh.node;

import io.l4mesh.node.config.HostPort;
import io.l4mesh.node.config.ListenerConfig;
import io.l4mesh.node.config.NodeConfig;
import io.l4mesh.node.config.Protocol;
import io.l4mesh.node.flow.FlowSync;
import io.l4mesh.node.health.HealthChecker;
import io.l4mesh.node.log.ErrorLog;
import io.l4mesh.node.log.Log;
import io.l4mesh.node.metrics.NodeMetrics;
import io.l4mesh.node.packet.PacketListener;
import io.l4mesh.node.proxy.ListenerRuntime;
import io.l4mesh.node.proxy.ProxyListener;
import io.l4mesh.node.proxy.TcpListener;
import io.l4mesh.node.proxy.UdpListener;
import io.l4mesh.node.routing.PoolRuntime;
import io.l4mesh.node.transport.Transport;
import io.netty.channel.EventLoopGroup;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.function.Function;
import java.util.logging.Logger;

/**
 * The node's listeners, both planes: binding them, rebinding on reload (a listener whose name, protocol and address
 * are unchanged keeps its socket and connections), announcing and withdrawing packet VIPs, stopping.
 *
 * <p>Threading: the control thread owns the registry; {@link #view} is what other threads read.
 */
final class Listeners {
    private static final Logger LOG = Log.logger(Listeners.class);

    private final Transport transport;
    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final int workerThreads;
    private final Executor control;
    private final ErrorLog errors;
    private final NodeMetrics metrics;
    private final HealthChecker health;
    /** Control thread only. */
    private final Map<String, ProxyListener> byName = new LinkedHashMap<>();
    private volatile List<ProxyListener> view = List.of();
    /** Flow sync for packet listeners, or null; set once at start before any listener binds. */
    private FlowSync flowSync;
    /** False until this node has pulled its peers' flows (only with flow sync): packet VIPs wait for it. */
    private volatile boolean flowsReady = true;

    Listeners(Transport transport, EventLoopGroup boss, EventLoopGroup workers, int workerThreads, Executor control,
              ErrorLog errors, NodeMetrics metrics, HealthChecker health) {
        this.transport = transport;
        this.boss = boss;
        this.workers = workers;
        this.workerThreads = workerThreads;
        this.control = control;
        this.errors = errors;
        this.metrics = metrics;
        this.health = health;
    }

    /** Packet listeners get flow sync, and hold their VIPs back until {@link #flowsPulled}. Before any bind. */
    void flowSync(FlowSync fs) {
        flowSync = fs;
        flowsReady = false;
    }

    boolean flowsReady() {
        return flowsReady;
    }

    /** The listeners as last changed, for readers on any thread. */
    List<ProxyListener> view() {
        return view;
    }

    /** A listener by name, from the published list. Any thread. */
    ProxyListener find(String name) {
        for (ProxyListener l : view) {
            if (l.runtime().name().equals(name)) {
                return l;
            }
        }
        return null;
    }

    /** Binds every listener or none (on failure those already bound are closed again). Control thread. */
    void bindAll(List<ListenerConfig> configs, Function<String, PoolRuntime> pools) throws Exception {
        List<ProxyListener> bound = new ArrayList<>();
        try {
            for (ListenerConfig lc : configs) {
                ProxyListener l = newListener(lc, pools.apply(lc.pool()));
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
            byName.put(l.runtime().name(), l);
            publish();
            metrics.bind(l.runtime());
            if (l instanceof PacketListener p) {
                metrics.bind(p);
                if (p.runtime().config().protocol() == Protocol.TCP) {
                    health.tunnel(p.runtime().pool().name(), p.boundAddress(), p.steering());
                }
            }
        }
    }

    /**
     * Reload: stops the listeners the file drops or moves and binds the ones it adds; a listener that must take over
     * an address another one holds is bound after that one stopped. Then every listener gets its new settings and
     * pool. Control thread.
     */
    void reload(NodeConfig next, Function<String, PoolRuntime> pools) throws Exception {
        List<ListenerConfig> toBind = new ArrayList<>();
        List<ProxyListener> toStop = new ArrayList<>();
        for (ProxyListener l : byName.values()) {
            ListenerConfig now = next.listener(l.runtime().name());
            if (now == null || now.protocol() != l.runtime().config().protocol()
                || !now.bind().equals(l.runtime().config().bind())) {
                toStop.add(l);
            }
        }
        for (ListenerConfig lc : next.listeners()) {
            ProxyListener cur = byName.get(lc.name());
            if (cur == null || toStop.contains(cur)) {
                toBind.add(lc);
            }
        }
        // Stop replaced listeners first only where the new one needs the same address.
        List<ListenerConfig> conflicting = toBind.stream().filter(lc -> toStop.stream().anyMatch(s ->
            s.runtime().config().bind().equals(lc.bind()) && s.runtime().config().protocol() == lc.protocol())).toList();
        List<ListenerConfig> fresh = toBind.stream().filter(lc -> !conflicting.contains(lc)).toList();
        List<String> before = new ArrayList<>(byName.keySet());
        bindAll(fresh, pools);
        for (ProxyListener l : toStop) {
            if (byName.get(l.runtime().name()) == l) {
                byName.remove(l.runtime().name());
                publish();
            }
            l.stopAccepting();
            metrics.unbind(l.runtime());
            metrics.unbind(l);
            if (l instanceof PacketListener p) {
                health.untunnel(p.runtime().pool().name(), p.steering());
            }
        }
        try {
            bindAll(conflicting, pools);
        } catch (Exception e) {
            Log.warn(LOG, "config.reload_bind_failed", "detail", e.getMessage(), "kept", before);
            throw e;
        }
    }

    /** After a reload's pools are in place: every listener gets its new settings and pool. Control thread. */
    void update(NodeConfig next, Function<String, PoolRuntime> pools) {
        for (ListenerConfig lc : next.listeners()) {
            byName.get(lc.name()).runtime().update(lc, pools.apply(lc.pool()));
        }
    }

    /** Flow sync has pulled the peers' flows: packet VIPs may be announced now. Control thread. */
    void flowsPulled(boolean draining) throws Exception {
        flowsReady = true;
        for (ProxyListener l : byName.values()) {
            if (l instanceof PacketListener p && !draining) {
                p.announce();
            }
        }
    }

    /** Withdraws every packet VIP's announced route; true if there was one. Control thread. */
    boolean withdraw() {
        boolean any = false;
        for (ProxyListener l : byName.values()) {
            if (l instanceof PacketListener p) {
                any |= p.withdraw();
            }
        }
        return any;
    }

    /** Stops accepting on every listener; returns their runtimes (to wait for open flows). Control thread. */
    List<ListenerRuntime> stopAccepting() {
        List<ListenerRuntime> r = new ArrayList<>();
        for (ProxyListener l : byName.values()) {
            l.stopAccepting();
            r.add(l.runtime());
        }
        return r;
    }

    private void publish() {
        view = List.copyOf(byName.values());
    }

    private ProxyListener newListener(ListenerConfig lc, PoolRuntime pool) {
        ListenerRuntime rt = new ListenerRuntime(lc, pool, control, errors);
        if (lc.packet() != null) {
            return new PacketListener(rt, lc.packet(), flowSync, flowsReady);
        }
        return lc.protocol() == Protocol.TCP
            ? new TcpListener(rt, transport, boss, workers)
            : new UdpListener(rt, transport, workers, workerThreads);
    }
}
