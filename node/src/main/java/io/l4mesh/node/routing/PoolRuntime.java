package io.l4mesh.node.routing;

import io.l4mesh.hashring.HashAlgorithm;
import io.l4mesh.node.config.BackendConfig;
import io.l4mesh.node.config.HostPort;
import io.l4mesh.node.config.PoolConfig;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * A pool at run time. Every method that changes it must run on the node's control thread; the data path reads
 * only {@link #snapshot()} (one volatile read) and {@link #settings()}.
 */
public final class PoolRuntime {
    private static final java.util.logging.Logger LOG = io.l4mesh.node.log.Log.logger(PoolRuntime.class);
    private final String name;
    private final int tableSize;
    private final HashAlgorithm algorithm;
    private final PoolEvents events;
    /** Nanoseconds for flap damping ({@link System#nanoTime} but in tests, which step it instead of sleeping). */
    private final LongSupplier nanoClock;
    /** Control thread only. Sorted by id, so snapshots list backends in Maglev table order. */
    private final Map<String, BackendRuntime> backends = new TreeMap<>();
    private final AtomicLong roundRobinTicket = new AtomicLong();
    private final AtomicLong rebuilds = new AtomicLong();

    private volatile PoolConfig settings;
    private volatile RoutingSnapshot snapshot;
    private long version;
    /** Control thread only: inside {@link #batch}, changes mark the pool dirty and the batch rebuilds once. */
    private int batchDepth;
    private boolean dirty;

    /** Creates the pool with the configured backends (resolving their hosts) and publishes its first snapshot. */
    public PoolRuntime(PoolConfig config, int tableSize, HashAlgorithm algorithm, PoolEvents events)
        throws PoolException {
        this(config, tableSize, algorithm, events, System::nanoTime);
    }

    /** The same, with the clock that flap damping reads. */
    public PoolRuntime(PoolConfig config, int tableSize, HashAlgorithm algorithm, PoolEvents events,
                       LongSupplier nanoClock) throws PoolException {
        this.nanoClock = nanoClock;
        this.name = config.name();
        this.tableSize = tableSize;
        this.algorithm = algorithm;
        this.events = events;
        this.settings = config;
        for (BackendConfig b : config.backends()) {
            put(b);
        }
        rebuild();
    }

    public String name() {
        return name;
    }

    /** Pool settings (timeouts, limits, PROXY protocol, health check); replaced whole on reload. */
    public PoolConfig settings() {
        return settings;
    }

    /** The current routing snapshot. */
    public RoutingSnapshot snapshot() {
        return snapshot;
    }

    /** The next round-robin ticket. */
    public long nextTicket() {
        return roundRobinTicket.getAndIncrement();
    }

    public long rebuildCount() {
        return rebuilds.get();
    }

    /** Adds a backend. */
    public BackendRuntime add(BackendConfig config) throws PoolException {
        if (backends.containsKey(config.id())) {
            throw new PoolException(PoolException.Kind.CONFLICT, "backend " + config.id() + " is already in pool " + name);
        }
        BackendRuntime b = put(config);
        rebuild();
        return b;
    }

    /** Removes a backend: it takes no new flows; open TCP connections to it finish on their own. */
    public void remove(String id) throws PoolException {
        BackendRuntime b = require(id);
        backends.remove(id);
        b.markRemoved();
        events.backendRemoved(this, b);
        rebuild();
    }

    /** Sets a backend's weight (0: no new flows). */
    public void weight(String id, int weight) throws PoolException {
        String bad = BackendConfig.weightError(weight);
        if (bad != null) {
            throw new PoolException(PoolException.Kind.INVALID, bad);
        }
        BackendRuntime b = require(id);
        if (b.weight() != weight) {
            b.weight(weight);
            rebuild();
        }
    }

    /** Drains (no new flows, existing ones continue) or undrains a backend. */
    public void draining(String id, boolean draining) throws PoolException {
        BackendRuntime b = require(id);
        if (b.draining() != draining) {
            b.draining(draining);
            rebuild();
        }
    }

    /**
     * Applies a reloaded config: adds and removes backends, updates weights, drain flags and settings, and
     * rebuilds once. Backends present before and after keep their runtime state (health, counters, flows).
     */
    public void apply(PoolConfig config) throws PoolException {
        List<BackendConfig> added = new ArrayList<>();
        for (BackendConfig b : config.backends()) {
            if (!backends.containsKey(b.id())) {
                added.add(b);
            }
        }
        for (BackendConfig b : added) {
            resolve(b.address());
        }
        List<String> gone = new ArrayList<>();
        for (String id : backends.keySet()) {
            if (config.backends().stream().noneMatch(b -> b.id().equals(id))) {
                gone.add(id);
            }
        }
        for (String id : gone) {
            BackendRuntime b = backends.remove(id);
            b.markRemoved();
            events.backendRemoved(this, b);
        }
        for (BackendConfig c : config.backends()) {
            BackendRuntime b = backends.get(c.id());
            if (b == null) {
                put(c);
            } else {
                b.weight(c.weight());
                b.draining(c.draining());
            }
        }
        settings = config;
        rebuild();
    }

    /**
     * Runs {@code changes} (calls to this pool's methods) as one: the table is rebuilt and published once at the end,
     * if anything changed, however many backends changed. Nested batches rebuild when the outermost ends.
     */
    public <E extends Exception> void batch(Batch<E> changes) throws E {
        batchDepth++;
        try {
            changes.run();
        } finally {
            if (--batchDepth == 0 && dirty) {
                dirty = false;
                publish();
            }
        }
    }

    /** The changes of one {@link #batch}. */
    @FunctionalInterface
    public interface Batch<E extends Exception> {
        void run() throws E;
    }

    /** An active probe's result, with rise/fall hysteresis and flap damping. */
    public void onProbe(String id, boolean ok, String detail) {
        BackendRuntime b = backends.get(id);
        if (b == null) {
            return;
        }
        long now = nanoClock.getAsLong();
        if (ok) {
            b.probesOk.increment();
            b.probeFailures = 0;
            b.probeSuccesses++;
            if (b.localHealth() == Health.DOWN && b.probeSuccesses >= settings.healthCheck().rise()) {
                if (b.damper.holdDown(now)) {
                    localTransition(b, Health.DOWN, String.format("damped: flapping, penalty %.0f",
                        b.damper.penalty(now)));
                } else {
                    b.consecutiveConnectFailures.set(0);
                    localTransition(b, Health.UP, "probe: " + b.probeSuccesses + " successes");
                }
            }
        } else {
            b.probesFailed.increment();
            b.probeSuccesses = 0;
            b.probeFailures++;
            if (b.localHealth() == Health.UP && b.probeFailures >= settings.healthCheck().fall()) {
                b.damper.down(now);
                localTransition(b, Health.DOWN, "probe: " + b.probeFailures + " failures (" + detail + ")");
            }
        }
    }

    /** Live traffic failed {@code fall} connects in a row: mark down here until probes bring it back. */
    public void onPassiveFailures(String id, int consecutive) {
        BackendRuntime b = backends.get(id);
        if (b != null && b.localHealth() == Health.UP && consecutive >= settings.healthCheck().fall()) {
            b.probeSuccesses = 0;
            b.damper.down(nanoClock.getAsLong());
            localTransition(b, Health.DOWN, "passive: " + consecutive + " failed connects");
        }
    }

    private void localTransition(BackendRuntime b, Health health, String reason) {
        boolean changed = b.localHealth() != health;
        b.localHealth(health, reason);
        if (changed) {
            events.localHealthChanged(this, b, health, reason);
        }
    }

    /**
     * Sets the health the pool routes by (the mesh's verdict, or the local one when alone); rebuilds the table when
     * it changes. The reason is always the current one ("mesh: down on 0 of 3 nodes"), also when the verdict stays.
     */
    public void health(String id, Health health, String reason) {
        BackendRuntime b = backends.get(id);
        if (b == null) {
            return;
        }
        if (b.health() == health) {
            b.health(health, reason);
            return;
        }
        b.health(health, reason);
        (health == Health.UP ? b.transitionsUp : b.transitionsDown).increment();
        events.healthChanged(this, b, health, reason);
        rebuild();
    }

    /** The backend with this id, or null. */
    public BackendRuntime find(String id) {
        return backends.get(id);
    }

    /** Replaces the pool's settings (timeouts, limits, health check) without touching its backends. */
    public void settings(PoolConfig config) {
        settings = config;
    }

    /** Backends as the control thread sees them (sorted by id). */
    public List<BackendRuntime> backends() {
        return List.copyOf(backends.values());
    }

    private BackendRuntime require(String id) throws PoolException {
        BackendRuntime b = backends.get(id);
        if (b == null) {
            throw new PoolException(PoolException.Kind.NOT_FOUND, "no backend " + id + " in pool " + name);
        }
        return b;
    }

    private BackendRuntime put(BackendConfig c) throws PoolException {
        InetSocketAddress resolved = resolve(c.address());
        BackendRuntime b = new BackendRuntime(c.id(), c.address(), resolved, c.weight(), c.draining());
        backends.put(c.id(), b);
        events.backendAdded(this, b);
        return b;
    }

    /** Resolves a backend's address, or fails the change that brought it (INVALID, with the one message). */
    public static InetSocketAddress resolve(HostPort address) throws PoolException {
        InetSocketAddress a = address.tryResolve();
        if (a == null) {
            throw new PoolException(PoolException.Kind.INVALID, address.unresolvable());
        }
        return a;
    }

    private void rebuild() {
        if (batchDepth > 0) {
            dirty = true;
            return;
        }
        publish();
    }

    private void publish() {
        long started = System.nanoTime();
        RoutingSnapshot s = new RoutingSnapshot(++version, List.copyOf(backends.values()), tableSize, algorithm);
        if (s.flowIdCollisions() > 0) {
            // 32-bit flow ids: flows recorded for one of these backends cannot be told from the other's
            io.l4mesh.node.log.Log.warn(LOG, "pool.flow_id_collision", "pool", name, "backends",
                s.flowIdCollisions());
        }
        snapshot = s;
        rebuilds.incrementAndGet();
        events.snapshotPublished(this, s, System.nanoTime() - started);
    }
}
