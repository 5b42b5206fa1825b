package io.l4mesh.node;

import io.l4mesh.hashring.HashAlgorithm;
import io.l4mesh.node.config.BackendConfig;
import io.l4mesh.node.config.PoolConfig;
import io.l4mesh.node.health.HealthChecker;
import io.l4mesh.node.log.Log;
import io.l4mesh.node.mesh.Mesh;
import io.l4mesh.node.metrics.NodeMetrics;
import io.l4mesh.node.routing.BackendRuntime;
import io.l4mesh.node.routing.Health;
import io.l4mesh.node.routing.PoolEvents;
import io.l4mesh.node.routing.PoolException;
import io.l4mesh.node.routing.PoolRuntime;
import io.l4mesh.node.routing.RoutingSnapshot;
import io.l4mesh.node.telemetry.Telemetry;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.logging.Logger;

/**
 * The node's control plane: its pools and every change to them (admin API, CLI, reload; the mesh's own changes
 * arrive through {@link Mesh}, which shares this registry). A change is checked whole first, then applied as one
 * batch: through the mesh when there is one (one gossip message, every node applies it), else to the pool directly
 * (one rebuild).
 *
 * <p>Threading: the control thread owns the registry and every change; {@link #view} is what other threads read.
 */
final class Pools {
    private static final Logger LOG = Log.logger(Pools.class);

    private final int tableSize;
    private final HashAlgorithm algorithm;
    private final NodeMetrics metrics;
    private final HealthChecker health;
    private final Telemetry telemetry;
    private final PoolEvents events = new Events();
    /** Control thread only; shared with the mesh, which applies the ledger to the same pools. */
    private final Map<String, PoolRuntime> byName = new LinkedHashMap<>();
    private volatile List<PoolRuntime> view = List.of();
    /** The mesh, or null when the node runs alone. Set once at start, on the control thread. */
    private volatile Mesh mesh;

    Pools(int tableSize, HashAlgorithm algorithm, NodeMetrics metrics, HealthChecker health, Telemetry telemetry) {
        this.tableSize = tableSize;
        this.algorithm = algorithm;
        this.metrics = metrics;
        this.health = health;
        this.telemetry = telemetry;
    }

    /** The registry itself, for the mesh to apply its ledger to. Control thread. */
    Map<String, PoolRuntime> registry() {
        return byName;
    }

    void mesh(Mesh m) {
        mesh = m;
    }

    Mesh mesh() {
        return mesh;
    }

    /** The pools as last changed, for readers on any thread. */
    List<PoolRuntime> view() {
        return view;
    }

    /** A pool by name. Control thread. */
    PoolRuntime get(String name) {
        return byName.get(name);
    }

    /** Creates the pools of a config (start). Control thread. */
    void create(Collection<PoolConfig> configs) throws PoolException {
        for (PoolConfig p : configs) {
            byName.put(p.name(), newPool(p));
        }
        publish();
    }

    /**
     * Reload, part one: the pools the file names that this node lacks, created from the file (not yet published:
     * {@link #reload} does, or {@link #forget} undoes them when the reload fails later). Control thread.
     */
    Map<String, PoolRuntime> createMissing(Collection<PoolConfig> configs) throws PoolException {
        Map<String, PoolRuntime> created = new LinkedHashMap<>();
        for (PoolConfig p : configs) {
            if (!byName.containsKey(p.name())) {
                created.put(p.name(), newPool(p));
            }
        }
        byName.putAll(created);
        return created;
    }

    /** Undoes {@link #createMissing} after a reload failed. Control thread. */
    void forget(Map<String, PoolRuntime> created) {
        created.keySet().forEach(byName::remove);
        created.values().forEach(this::dropPool);
        publish();
        publishMesh();
    }

    /**
     * Reload, part two: every pool the file names becomes exactly the file's (README "Reload"); pools it does not
     * name are dropped. Alone, each pool is made equal to the file with one rebuild; in a mesh the difference from
     * the ledger is written as one batch. Control thread.
     */
    void reload(Map<String, PoolConfig> file, Set<String> created) throws PoolException {
        Mesh m = mesh;
        if (m == null) {
            for (PoolConfig p : file.values()) {
                if (!created.contains(p.name())) {
                    byName.get(p.name()).apply(p);     // a created pool was built from the file
                }
            }
        } else {
            for (PoolConfig p : file.values()) {
                byName.get(p.name()).settings(p);
            }
            m.reload(file.values(), created);
        }
        for (String name : new ArrayList<>(byName.keySet())) {
            if (!file.containsKey(name)) {
                dropPool(byName.remove(name));
            }
        }
        publish();
        publishMesh();
    }

    /** The mesh publishes this node's state at the end of the turn (pools added or dropped change it). */
    private void publishMesh() {
        Mesh m = mesh;
        if (m != null) {
            m.publish();
        }
    }

    /**
     * Changes one backend: through the mesh when there is one, so every node applies it. Control thread.
     *
     * @param weight   new weight, or -1 to keep
     * @param draining new drain flag, or null to keep
     */
    void change(String poolName, String id, int weight, Boolean draining, boolean remove) throws PoolException {
        String what = remove ? "remove" : draining != null ? (draining ? "drain" : "undrain") : "weight";
        telemetry.around("pool.change", () -> {
            changeNow(poolName, id, weight, draining, remove);
            return null;
        }, Telemetry.POOL, poolName, Telemetry.BACKEND, id, Telemetry.CHANGE, what, Telemetry.ORIGIN, "local");
    }

    private void changeNow(String poolName, String id, int weight, Boolean draining, boolean remove)
        throws PoolException {
        PoolRuntime pool = require(poolName);
        if (weight >= 0 && BackendConfig.weightError(weight) != null) {     // -1: keep the weight
            throw new PoolException(PoolException.Kind.INVALID, BackendConfig.weightError(weight));
        }
        Mesh m = mesh;
        if (m != null) {
            m.write(poolName, id, weight, draining, remove);
            return;
        }
        if (remove) {
            pool.remove(id);
            return;
        }
        if (pool.find(id) == null) {
            throw new PoolException(PoolException.Kind.NOT_FOUND, "no backend " + id + " in pool " + poolName);
        }
        pool.batch(() -> {
            if (weight >= 0) {
                pool.weight(id, weight);
            }
            if (draining != null) {
                pool.draining(id, draining);
            }
        });
    }

    /**
     * Adds backends to a pool as one change: all are checked first (none already in the pool, none twice, every
     * host resolves), then added with one table rebuild, through the mesh when there is one (one gossip message).
     * Control thread.
     */
    void add(String poolName, List<BackendConfig> adds) throws PoolException {
        telemetry.around("pool.change", () -> {
            addNow(poolName, adds);
            return null;
        }, Telemetry.POOL, poolName, Telemetry.BACKEND, String.join(",", adds.stream().map(BackendConfig::id).toList()),
            Telemetry.CHANGE, "add", Telemetry.ORIGIN, "local");
    }

    private void addNow(String poolName, List<BackendConfig> adds) throws PoolException {
        PoolRuntime pool = require(poolName);
        Mesh m = mesh;
        Set<String> seen = new HashSet<>();
        for (BackendConfig b : adds) {
            boolean present = m != null ? m.has(poolName, b.id()) : pool.find(b.id()) != null;
            if (present || !seen.add(b.id())) {
                throw new PoolException(PoolException.Kind.CONFLICT, "backend " + b.id() + " is already in pool "
                    + poolName);
            }
            PoolRuntime.resolve(b.address());
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

    /** Control thread: publishes the pool list other threads read, after every change to it. */
    void publish() {
        view = List.copyOf(byName.values());
    }

    private PoolRuntime require(String poolName) throws PoolException {
        PoolRuntime pool = byName.get(poolName);
        if (pool == null) {
            throw new PoolException(PoolException.Kind.NOT_FOUND, "no pool named '" + poolName + "'");
        }
        return pool;
    }

    private PoolRuntime newPool(PoolConfig p) throws PoolException {
        PoolRuntime pool = new PoolRuntime(p, tableSize, algorithm, events);
        metrics.bind(pool);
        return pool;
    }

    private void dropPool(PoolRuntime p) {
        for (BackendRuntime b : p.backends()) {
            health.unwatch(b);
            metrics.unbind(b);
        }
        metrics.unbind(p);
    }

    /** Wires pool events to the health checker, metrics, the mesh and the log. Control thread. */
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
            telemetry.event("backend.health", Telemetry.POOL, pool.name(), Telemetry.BACKEND, backend.id(),
                Telemetry.HEALTH, h.name().toLowerCase(java.util.Locale.ROOT), Telemetry.REASON, reason);
        }

        @Override
        public void localHealthChanged(PoolRuntime pool, BackendRuntime backend, Health h, String reason) {
            Log.info(LOG, h == Health.UP ? "backend.local_up" : "backend.local_down", "pool", pool.name(), "backend",
                backend.id(), "reason", reason);
            telemetry.event("backend.local_health", Telemetry.POOL, pool.name(), Telemetry.BACKEND, backend.id(),
                Telemetry.HEALTH, h.name().toLowerCase(java.util.Locale.ROOT), Telemetry.REASON, reason);
            Mesh m = mesh;
            if (m == null) {
                pool.health(backend.id(), h, reason);   // alone, this node's observation is the verdict
            } else {
                m.publish();                             // the mesh rule decides, from every node's observations
            }
        }

        @Override
        public void snapshotPublished(PoolRuntime pool, RoutingSnapshot snapshot, long buildNanos) {
            telemetry.took("pool.rebuild", buildNanos, Telemetry.POOL, pool.name(), Telemetry.VERSION,
                snapshot.version(), Telemetry.ELIGIBLE, (long) snapshot.eligibleCount());
            // only logged: whoever changed the pool (the mesh, or this control plane) publishes the node's state
            Log.debug(LOG, "pool.snapshot", "pool", pool.name(), "version", snapshot.version(), "eligible",
                snapshot.eligibleCount(), "fingerprint", String.format("%016x", snapshot.table().fingerprint()));
        }
    }
}
