package io.l4mesh.node.mesh;

import io.l4mesh.membership.ClusterKey;
import io.l4mesh.membership.Faults;
import io.l4mesh.membership.Member;
import io.l4mesh.membership.MemberView;
import io.l4mesh.membership.Membership;
import io.l4mesh.membership.MembershipConfig;
import io.l4mesh.membership.MembershipListener;
import io.l4mesh.membership.MembershipStats;
import io.l4mesh.node.config.BackendConfig;
import io.l4mesh.node.config.HostPort;
import io.l4mesh.node.config.MeshConfig;
import io.l4mesh.node.config.PoolConfig;
import io.l4mesh.node.log.Log;
import io.l4mesh.node.routing.BackendRuntime;
import io.l4mesh.node.routing.Health;
import io.l4mesh.node.routing.PoolException;
import io.l4mesh.node.routing.PoolRuntime;
import io.l4mesh.node.routing.RoutingSnapshot;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * This node's part in the mesh: the converged pool ledger, the published node state and the health verdict. See the
 * package documentation for the protocol.
 *
 * <p>Threading: every method except {@link #stats()} and the read-only accessors runs on the node's control thread;
 * membership callbacks are posted there.
 */
public final class Mesh implements AutoCloseable {
    static final String TOPIC_DELTA = "pool";
    static final String TOPIC_FULL = "pool-full";
    static final long FULL_SYNC_MIN_INTERVAL_NANOS = 500_000_000L;
    static final String STATE_FILE = "pool-state.json";
    private static final Logger LOG = Log.logger(Mesh.class);

    private final String nodeId;
    private final Map<String, PoolRuntime> pools;
    private final ScheduledExecutorService control;
    private final Supplier<String> adminAddress;
    private final Path stateFile;
    private final PoolLedger ledger = new PoolLedger();
    private final Hlc hlc = new Hlc();
    private final Faults faults;
    private final Map<String, NodeState> states = new HashMap<>();
    private final Map<String, Long> lastFullSync = new HashMap<>();
    private final LongAdder malformed = new LongAdder();
    private final LongAdder entriesIn = new LongAdder();
    private final LongAdder left = new LongAdder();
    private final LongAdder removed = new LongAdder();
    private Membership membership;
    private volatile MemberView view;
    private volatile Map<String, NodeState> statesView = Map.of();
    /** Written on the control thread, read by {@link #members} on any thread. */
    private volatile NodeState published;
    /** Control thread: a publish is queued for the end of this turn (every change in the turn shares it). */
    private boolean publishQueued;
    /** Ledger entries this node could not apply ("pool/backend" to why): it routes differently until they apply. */
    private final Map<String, String> divergent = new TreeMap<>();
    private volatile Map<String, String> divergentView = Map.of();
    private final LongAdder applyFailures = new LongAdder();
    private volatile String syncAddress = "";
    private long pendingSinceNanos = -1;
    /** The members' load for the live mesh page (gossiped every second). */
    private final LoadBoard loads = new LoadBoard();
    /** Spans for joins, leaves and gossiped pool changes (off unless configured). */
    private volatile io.l4mesh.node.telemetry.Telemetry telemetry = io.l4mesh.node.telemetry.Telemetry.off("");
    /** Where convergence times go (nanoseconds from a local change until every member has it). */
    private volatile java.util.function.LongConsumer convergenceTimes = nanos -> { };

    /**
     * Loads the saved ledger (or seeds one from the config's pools) and applies it. Control thread. Call
     * {@link #join} afterwards, off the control thread.
     */
    public Mesh(String nodeId, Map<String, PoolRuntime> pools, Map<String, PoolConfig> configured, Path dataDir,
                ScheduledExecutorService control, Supplier<String> adminAddress, Faults faults) throws IOException {
        this.nodeId = nodeId;
        this.faults = faults;
        this.pools = pools;
        this.control = control;
        this.adminAddress = adminAddress;
        this.stateFile = dataDir == null ? null : dataDir.resolve(STATE_FILE);
        if (stateFile != null && Files.exists(stateFile)) {
            List<PoolEntry> saved = PoolLedger.load(stateFile);
            saved.forEach(e -> {
                hlc.observe(e.stamp());
                ledger.merge(e);
            });
            Log.info(LOG, "mesh.state_loaded", "file", stateFile, "entries", saved.size());
        }
        // The file seeds what the ledger does not know (stamp 0: any change the mesh made wins), so the pools this
        // node starts with are the ledger's, never file backends the mesh has not heard of.
        for (PoolConfig p : configured.values()) {
            for (BackendConfig b : p.backends()) {
                if (ledger.get(p.name(), b.id()) == null) {
                    ledger.merge(new PoolEntry(p.name(), b.id(), b.weight(), b.draining(), false, 0, nodeId));
                }
            }
        }
        applyAll(ledger.entries());
        persist();
    }

    /** This node's flow-sync address as peers reach it (host:port), published with its state. Before {@link #join}. */
    public void syncAddress(String hostPort) {
        this.syncAddress = hostPort;
    }

    /** The flow-sync addresses of the other live members that published one. Any thread. */
    public List<java.net.InetSocketAddress> syncPeers() {
        MemberView v = view;
        if (v == null) {
            return List.of();
        }
        Map<String, NodeState> st = statesView;
        List<java.net.InetSocketAddress> out = new ArrayList<>();
        for (Member m : v.all()) {
            if (m.id().equals(v.self().id())) {
                continue;
            }
            NodeState s = st.get(m.id());
            HostPort hp = s == null || s.sync().isEmpty() ? null : HostPort.parse(s.sync(), false);
            if (hp != null) {
                out.add(new java.net.InetSocketAddress(hp.host(), hp.port()));
            }
        }
        return out;
    }

    /** Where this mesh's spans go. Before {@link #join}. */
    public void telemetry(io.l4mesh.node.telemetry.Telemetry t) {
        this.telemetry = t;
    }

    /** Joins the mesh (blocks until the gossip transport is up; not on the control thread). */
    public void join(MeshConfig mesh, ClusterKey key) {
        List<String> seeds = mesh.seeds().stream().map(HostPort::toString).toList();
        membership = telemetry.around("mesh.join", () -> Membership.start(new MembershipConfig(nodeId,
            mesh.clusterName(), mesh.bind().host(), mesh.bind().port(), seeds, mesh.pingInterval(),
            mesh.pingTimeout(), mesh.suspicionMult(), mesh.syncInterval(), mesh.gossipInterval(), key), new Listener(),
            faults), io.l4mesh.node.telemetry.Telemetry.COUNT, (long) seeds.size());
        view = membership.view();
        control.execute(this::publish);
        control.scheduleAtFixedRate(() -> loads.send(membership), LoadBoard.EVERY_MS, LoadBoard.EVERY_MS,
            TimeUnit.MILLISECONDS);
        long every = Math.max(200, mesh.syncInterval().toMillis());
        control.scheduleAtFixedRate(this::antiEntropy, every, every, TimeUnit.MILLISECONDS);
        control.scheduleAtFixedRate(() -> {
            int n = ledger.collect(System.currentTimeMillis());
            if (n > 0) {
                Log.info(LOG, "mesh.tombstones_collected", "count", n);
                persist();
                publish();
            }
        }, 1, 1, TimeUnit.MINUTES);
    }

    /** Membership callbacks, moved to the control thread. */
    private final class Listener implements MembershipListener {
        @Override
        public void viewChanged(MemberView v, Member joined, Member gone, boolean graceful) {
            control.execute(() -> onView(v, joined, gone, graceful));
        }

        @Override
        public void stateChanged(Member member, byte[] state) {
            control.execute(() -> onState(member, state));
        }

        @Override
        public void message(String topic, byte[] payload, Member from) {
            control.execute(() -> onEntries(topic, payload, from));
        }
    }

    private void onView(MemberView v, Member joined, Member gone, boolean graceful) {
        view = v;
        if (gone != null) {
            (graceful ? left : removed).increment();
            states.remove(gone.id());
            statesView = Map.copyOf(states);
            loads.forget(gone);
            Log.info(LOG, graceful ? "member.left" : "member.removed", "node", gone.nodeId(), "address",
                gone.address(), "members", v.size());
            telemetry.event(graceful ? "mesh.member.left" : "mesh.member.removed",
                io.l4mesh.node.telemetry.Telemetry.MEMBER, gone.nodeId(), io.l4mesh.node.telemetry.Telemetry.COUNT,
                (long) v.size());
        }
        if (joined != null) {
            Log.info(LOG, "member.joined", "node", joined.nodeId(), "address", joined.address(), "members", v.size());
            telemetry.event("mesh.member.joined", io.l4mesh.node.telemetry.Telemetry.MEMBER, joined.nodeId(),
                io.l4mesh.node.telemetry.Telemetry.COUNT, (long) v.size());
            sendFull(joined);
        }
        publish();            // the verdicts under the new view, and the tables they rebuild, at the end of the turn
        checkConvergence();
    }

    private void onState(Member member, byte[] bytes) {
        NodeState s;
        try {
            s = NodeState.decode(bytes);
        } catch (IOException e) {
            malformed.increment();
            return;
        }
        states.put(member.id(), s);
        statesView = Map.copyOf(states);
        if (s.ledgerDigest() != ledger.digest()) {
            sendFull(member);
        }
        publish();            // the verdicts with this member's observations, at the end of the turn
        checkConvergence();
    }

    private void onEntries(String topic, byte[] payload, Member from) {
        if (topic.equals(LoadBoard.TOPIC)) {
            if (!loads.received(payload, from, view)) {
                malformed.increment();
            }
            return;
        }
        if (!topic.equals(TOPIC_DELTA) && !topic.equals(TOPIC_FULL)) {
            return;
        }
        List<PoolEntry> list;
        try {
            list = PoolLedger.decode(payload);
        } catch (IOException e) {
            malformed.increment();
            Log.debug(LOG, "mesh.malformed", "from", from.nodeId(), "detail", e.getMessage());
            return;
        }
        entriesIn.add(list.size());
        List<PoolEntry> merged = new ArrayList<>();
        for (PoolEntry e : list) {
            hlc.observe(e.stamp());
            if (ledger.merge(e)) {
                merged.add(e);
            }
        }
        if (!merged.isEmpty()) {
            telemetry.around("pool.change", () -> {
                applyAll(merged);
                return null;
            }, io.l4mesh.node.telemetry.Telemetry.ORIGIN, "gossip", io.l4mesh.node.telemetry.Telemetry.PEER,
                from.nodeId(), io.l4mesh.node.telemetry.Telemetry.POOL, pools(merged),
                io.l4mesh.node.telemetry.Telemetry.COUNT, (long) merged.size());
            persist();
            publish();
        }
    }

    /**
     * One change to a pool's backend, made on this node (admin API, CLI or reload).
     *
     * @param weight   new weight, or -1 to keep
     * @param draining new drain flag, or null to keep
     */
    public record Change(String pool, String backend, int weight, Boolean draining, boolean delete) {
    }

    /** One change made on this node: see {@link #writeAll}. */
    public void write(String pool, String backend, int weight, Boolean draining, boolean delete)
        throws PoolException {
        writeAll(List.of(new Change(pool, backend, weight, draining, delete)));
    }

    /**
     * Changes made on this node, as one: all checked first (one that cannot be made fails the whole batch, and
     * nothing changes), then stamped, applied (each pool rebuilt once), saved once, gossiped in one message and
     * published once.
     */
    public void writeAll(List<Change> changes) throws PoolException {
        Map<String, PoolEntry> next = new java.util.LinkedHashMap<>();
        for (Change c : changes) {
            if (!pools.containsKey(c.pool())) {
                throw new PoolException(PoolException.Kind.NOT_FOUND, "no pool named '" + c.pool() + "'");
            }
            String key = NodeState.key(c.pool(), c.backend());
            PoolEntry cur = next.containsKey(key) ? next.get(key) : ledger.get(c.pool(), c.backend());
            boolean present = cur != null && !cur.deleted();
            if (!present && (c.delete() || c.weight() < 0 && c.draining() == null)) {
                throw new PoolException(PoolException.Kind.NOT_FOUND, "no backend " + c.backend() + " in pool "
                    + c.pool());
            }
            int w = c.weight() >= 0 ? c.weight() : present ? cur.weight() : BackendConfig.DEFAULT_WEIGHT;
            boolean d = c.draining() != null ? c.draining() : present && cur.draining();
            next.put(key, new PoolEntry(c.pool(), c.backend(), w, d, c.delete(), hlc.now(System.currentTimeMillis()),
                nodeId));
        }
        if (next.isEmpty()) {
            return;
        }
        List<PoolEntry> entries = List.copyOf(next.values());
        entries.forEach(ledger::merge);
        applyAll(entries);
        persist();
        pendingSinceNanos = System.nanoTime();
        if (membership != null) {
            membership.broadcast(TOPIC_DELTA, PoolLedger.encode(entries));
        }
        publish();
    }

    /**
     * A reload in a mesh: each of these pools' backends become exactly the file's (added, re-weighted, drained or
     * removed as the file says), written as one batch like any change made on this node, so every node applies it
     * (one rebuild per pool, one gossip message). A pool new on this node first takes what the mesh already holds
     * for it, so it starts in step with the others. Nothing is written when the ledger already says what the file
     * says. Control thread.
     *
     * @param created names among {@code files} whose pools the reload has just created on this node
     */
    public void reload(java.util.Collection<PoolConfig> files, java.util.Set<String> created) throws PoolException {
        if (!created.isEmpty()) {
            applyAll(ledger.entries().stream().filter(e -> created.contains(e.pool())).toList());
        }
        List<Change> changes = new ArrayList<>();
        for (PoolConfig p : files) {
            Map<String, PoolEntry> live = new java.util.LinkedHashMap<>();
            for (PoolEntry e : ledger.entries()) {
                if (e.pool().equals(p.name()) && !e.deleted()) {
                    live.put(e.backend(), e);
                }
            }
            for (BackendConfig b : p.backends()) {
                PoolEntry e = live.remove(b.id());
                if (e == null || e.weight() != b.weight() || e.draining() != b.draining()) {
                    changes.add(new Change(p.name(), b.id(), b.weight(), b.draining(), false));
                }
            }
            live.keySet().forEach(gone -> changes.add(new Change(p.name(), gone, -1, null, true)));
        }
        writeAll(changes);
        if (!created.isEmpty()) {
            divergentView = Map.copyOf(divergent);
            publish();
        }
    }

    /** Whether the ledger holds a live entry for this backend. */
    public boolean has(String pool, String backend) {
        PoolEntry e = ledger.get(pool, backend);
        return e != null && !e.deleted();
    }

    /** Applies ledger entries, each pool's in one batch (one rebuild per pool). */
    private void applyAll(java.util.Collection<PoolEntry> entries) {
        Map<String, List<PoolEntry>> byPool = new java.util.LinkedHashMap<>();
        for (PoolEntry e : entries) {
            byPool.computeIfAbsent(e.pool(), k -> new ArrayList<>()).add(e);
        }
        byPool.forEach((name, list) -> {
            PoolRuntime p = pools.get(name);
            if (p == null) {
                for (PoolEntry e : list) {
                    if (e.deleted()) {
                        divergent.remove(NodeState.key(e.pool(), e.backend()));   // nothing here to remove
                    } else {
                        diverged(e, "no pool named '" + name + "' on this node");
                    }
                }
                return;
            }
            p.batch(() -> list.forEach(e -> apply(p, e)));
        });
        divergentView = Map.copyOf(divergent);
    }

    private void apply(PoolRuntime p, PoolEntry e) {
        try {
            BackendRuntime b = p.find(e.backend());
            if (e.deleted()) {
                if (b != null) {
                    p.remove(e.backend());
                }
            } else if (b == null) {
                p.add(new BackendConfig(HostPort.parse(e.backend(), false), e.weight(), e.draining()));
            } else {
                p.weight(e.backend(), e.weight());
                p.draining(e.backend(), e.draining());
            }
            divergent.remove(NodeState.key(e.pool(), e.backend()));
        } catch (PoolException | IllegalArgumentException ex) {
            diverged(e, ex.getMessage());
        }
    }

    /**
     * A ledger entry this node cannot apply: counted, logged once per entry and reason, and listed by
     * {@link #divergence} until a later entry for the same backend applies. The node keeps converging on the rest.
     */
    private void diverged(PoolEntry e, String why) {
        applyFailures.increment();
        String was = divergent.put(NodeState.key(e.pool(), e.backend()), why);
        if (!why.equals(was)) {
            Log.warn(LOG, "mesh.apply_failed", "pool", e.pool(), "backend", e.backend(), "detail", why);
        }
    }

    /** Ledger entries this node could not apply, "pool/backend" to why (empty when it routes what the mesh agreed). */
    public Map<String, String> divergence() {
        return divergentView;
    }

    /** Ledger entries that could not be applied, counted each time one arrived. */
    public long applyFailuresTotal() {
        return applyFailures.sum();
    }

    private void persist() {
        if (stateFile == null) {
            return;
        }
        try {
            ledger.save(stateFile);
        } catch (IOException e) {
            Log.warn(LOG, "mesh.save_failed", "file", stateFile, "detail", e.getMessage());
        }
    }

    /** Pushes the whole ledger to every member whose published digest differs (heals lost gossip). */
    private void antiEntropy() {
        MemberView v = view;
        if (v == null) {
            return;
        }
        long digest = ledger.digest();
        for (Member m : v.others()) {
            NodeState s = states.get(m.id());
            if (s != null && s.ledgerDigest() != digest) {
                sendFull(m);
            }
        }
    }

    private void sendFull(Member to) {
        if (membership == null) {
            return;
        }
        long now = System.nanoTime();
        Long last = lastFullSync.get(to.id());
        if (last != null && now - last < FULL_SYNC_MIN_INTERVAL_NANOS) {
            return;
        }
        lastFullSync.put(to.id(), now);
        membership.send(to, TOPIC_FULL, PoolLedger.encode(ledger.entries()));
    }

    /**
     * Something that goes into this node's published state may have changed (its own observations, a view or a
     * member's state, the ledger, the pools): the verdicts are recomputed and the state published once, at the end
     * of this control-thread turn, however many changes asked for it. The control plane calls it after each change it
     * makes; pools never call it (a rebuild does not call back into the mesh).
     */
    public void publish() {
        if (membership == null || publishQueued) {
            return;
        }
        publishQueued = true;
        try {
            control.execute(this::publishNow);
        } catch (java.util.concurrent.RejectedExecutionException closing) {
            publishQueued = false;
        }
    }

    private void publishNow() {
        recompute();              // the verdicts first: the tables they rebuild are what gets published
        publishQueued = false;
        Map<String, NodeState.PoolView> pv = new TreeMap<>();
        Set<String> down = new HashSet<>();
        for (PoolRuntime p : pools.values()) {
            RoutingSnapshot s = p.snapshot();
            pv.put(p.name(), new NodeState.PoolView(s.table().fingerprint(), s.version()));
            for (BackendRuntime b : p.backends()) {
                if (b.localHealth() == Health.DOWN) {
                    down.add(NodeState.key(p.name(), b.id()));
                }
            }
        }
        NodeState next = new NodeState(nodeId, adminAddress.get(), syncAddress, ledger.digest(), ledger.size(), 0, pv, down);
        if (next.equals(published)) {
            return;
        }
        published = next;
        membership.publish(new NodeState(nodeId, next.admin(), next.sync(), next.ledgerDigest(), next.ledgerSize(),
            System.currentTimeMillis(), pv, down).encode());
    }

    /**
     * The health rule: a backend is down in the mesh when a strict majority of live members (this one included)
     * see it down. Deterministic given the same view and states, so converged nodes build the same tables.
     */
    private void recompute() {
        MemberView v = view;
        if (v == null) {
            return;
        }
        List<Member> members = v.all();
        int n = members.size();
        for (PoolRuntime p : pools.values()) {
            p.batch(() -> {      // k backends changing verdict at once: one rebuild
                for (BackendRuntime b : p.backends()) {
                    String key = NodeState.key(p.name(), b.id());
                    int downVotes = b.localHealth() == Health.DOWN ? 1 : 0;
                    for (Member m : v.others()) {
                        NodeState s = states.get(m.id());
                        if (s != null && s.down().contains(key)) {
                            downVotes++;
                        }
                    }
                    Health verdict = downVotes * 2 > n ? Health.DOWN : Health.UP;
                    p.health(b.id(), verdict, "mesh: down on " + downVotes + " of " + n + " nodes");
                }
            });
        }
    }

    private void checkConvergence() {
        if (pendingSinceNanos < 0 || view == null) {
            return;
        }
        long digest = ledger.digest();
        for (Member m : view.others()) {
            NodeState s = states.get(m.id());
            if (s == null || s.ledgerDigest() != digest) {
                return;
            }
        }
        long nanos = System.nanoTime() - pendingSinceNanos;
        pendingSinceNanos = -1;
        convergenceTimes.accept(nanos);
        Log.debug(LOG, "mesh.converged", "seconds", nanos / 1e9);
    }

    /** Where this node's load comes from, for the live mesh page. Before {@link #join}. */
    public void loadSource(java.util.function.Supplier<NodeLoad> source) {
        loads.source(source);
    }

    /** The last load each other live member sent, by node id (this node's own is not in it). Any thread. */
    public Map<String, NodeLoad> loads() {
        return loads.loads();
    }

    /** The pools some entries change, comma-separated (a span attribute). */
    private static String pools(List<PoolEntry> entries) {
        return String.join(",", new java.util.TreeSet<>(entries.stream().map(PoolEntry::pool).toList()));
    }

    /** One row per live member, this one included, from what each published. Any thread. */
    public List<MemberRow> members() {
        List<MemberRow> rows = new ArrayList<>();
        MemberView v = view;
        if (v == null) {
            return rows;
        }
        Map<String, NodeState> st = statesView;
        for (Member m : v.all()) {
            boolean self = m.id().equals(v.self().id());
            NodeState s = self ? published : st.get(m.id());
            rows.add(new MemberRow(m.nodeId(), m.id(), m.address(), self, s == null ? null : s.admin(),
                s == null ? null : String.format("%016x", s.ledgerDigest()), s == null ? 0 : s.ledgerSize(),
                s == null ? Map.of() : fingerprints(s), s == null ? List.of() : List.copyOf(new java.util.TreeSet<>(
                    s.down()))));
        }
        return rows;
    }

    private static Map<String, String> fingerprints(NodeState s) {
        Map<String, String> m = new TreeMap<>();
        s.pools().forEach((k, v) -> m.put(k, String.format("%016x", v.fingerprint())));
        return m;
    }

    /** A member as seen through its published state; null fields mean it has not published yet. */
    public record MemberRow(String nodeId, String memberId, String gossip, boolean self, String admin,
                            String ledgerDigest, int ledgerSize, Map<String, String> fingerprints, List<String> down) {
    }

    public MemberView view() {
        return view;
    }

    public MembershipStats stats() {
        return membership == null ? new MembershipStats(0, 0, 0, 0, 0, 0, 0, 0) : membership.stats();
    }

    public long malformedTotal() {
        return malformed.sum();
    }

    public long leftTotal() {
        return left.sum();
    }

    public long removedTotal() {
        return removed.sum();
    }

    public long entriesInTotal() {
        return entriesIn.sum();
    }

    /** The ledger's digest (every entry, stamps included), as published to the other members. Control thread. */
    public long ledgerDigest() {
        return ledger.digest();
    }

    public int ledgerSize() {
        return ledger.size();
    }

    /**
     * Sends each convergence time to {@code sink}: nanoseconds from a pool change made here until every member
     * published the same ledger digest. A change made before the previous one converged restarts the clock.
     */
    public void convergenceTimes(java.util.function.LongConsumer sink) {
        this.convergenceTimes = sink;
    }

    /** 1 when every member that published reports the same fingerprint as this node for {@code pool}, else 0. */
    public int agreement(String pool) {
        NodeState mine = published;
        if (mine == null || mine.pools().get(pool) == null) {
            return 0;
        }
        long fp = mine.pools().get(pool).fingerprint();
        for (NodeState s : statesView.values()) {
            NodeState.PoolView pv = s.pools().get(pool);
            if (pv == null || pv.fingerprint() != fp) {
                return 0;
            }
        }
        return 1;
    }

    /** Leaves the mesh gracefully (peers drop this node at once instead of waiting for detection). */
    @Override
    public void close() {
        if (membership != null) {
            membership.leave(Duration.ofSeconds(2));
        }
    }
}
