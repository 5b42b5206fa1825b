package io.l4mesh.node.metrics;

/**
 * Every metric the node exports, with a stable name. Names are micrometer's dotted form; the Prometheus name
 * replaces dots with underscores and adds {@code _total} to counters. Dashboards use only the Prometheus names
 * listed here, and a test checks that each appears on {@code /metrics}.
 *
 * <p>Counters are monotonic totals: rates are the dashboard's job.
 */
public enum MetricName {
    CONNECTIONS("l4mesh.connections", Kind.COUNTER, "TCP connections accepted, by listener", "listener"),
    CONNECTIONS_ACTIVE("l4mesh.connections.active", Kind.GAUGE,
        "Flows carried now, by listener: open TCP connections and UDP sessions (proxy), flow-table entries (packet)",
        "listener"),
    CONNECTIONS_REJECTED("l4mesh.connections.rejected", Kind.COUNTER,
        "Connections or sessions refused, by listener and reason (limit, no_backend, connect_failed)",
        "listener", "reason"),
    IDLE_TIMEOUTS("l4mesh.idle.timeouts", Kind.COUNTER, "Connections and sessions closed for idleness, by listener",
        "listener"),
    RESETS("l4mesh.resets", Kind.COUNTER,
        "Connections ended by a reset, by listener and the side it came from (from: client, backend); proxy mode",
        "listener", "from"),
    BYTES("l4mesh.bytes", Kind.COUNTER, "Payload bytes relayed, by listener and direction (in: client to backend)",
        "listener", "direction"),
    PACKETS("l4mesh.packets", Kind.COUNTER,
        "Packet mode: packets read from a VIP's TUN, by listener and result (forwarded, icmp_error, fragment, "
            + "malformed, unsupported, no_backend, too_big, send_error; icmp_sent: fragmentation-needed sent back; "
            + "health_probe: this node's probes through the tunnel, also counted as forwarded); a TCP super-packet "
            + "counts as its segments", "listener", "result"),
    PACKET_OFFLOAD("l4mesh.packet.offload", Kind.COUNTER,
        "Packet mode with offloads, by listener and kind: TCP super-packets the TUN device handed over whole "
            + "(super_packets) and the segments the node cut them into (segments); UDP GSO sends (udp_gso_sends) and "
            + "the encapsulated packets they carried (udp_gso_packets)", "listener", "kind"),
    UDP_SESSIONS("l4mesh.udp.sessions", Kind.COUNTER, "UDP sessions created, by listener", "listener"),
    UDP_SESSIONS_ACTIVE("l4mesh.udp.sessions.active", Kind.GAUGE, "Live UDP sessions, by listener", "listener"),
    UDP_DATAGRAMS("l4mesh.udp.datagrams", Kind.COUNTER, "UDP datagrams relayed, by listener and direction",
        "listener", "direction"),
    BACKEND_CONNECTIONS("l4mesh.backend.connections", Kind.COUNTER, "Flows sent to a backend, by pool and backend",
        "pool", "backend"),
    BACKEND_CONNECTIONS_ACTIVE("l4mesh.backend.connections.active", Kind.GAUGE,
        "Flows a backend carries now through this node, by pool and backend: open connections and UDP sessions "
            + "(proxy), flow-table entries (packet)", "pool", "backend"),
    BACKEND_CONNECT_FAILURES("l4mesh.backend.connect.failures", Kind.COUNTER,
        "Failed or timed-out connects to a backend, by pool and backend", "pool", "backend"),
    BACKEND_CONNECT_TIME("l4mesh.backend.connect.time", Kind.TIMER,
        "Proxy mode: time from connect start to the backend's accept, a histogram by pool and backend",
        "pool", "backend"),
    BACKEND_FIRST_BYTE_TIME("l4mesh.backend.first.byte.time", Kind.TIMER,
        "Proxy mode: time from the client's connection accepted to the backend's first byte (TTFB), a histogram by "
            + "pool and backend", "pool", "backend"),
    CONNECTIONS_RETRIED("l4mesh.connections.retried", Kind.COUNTER,
        "TCP connections a backend took only after the first backend tried failed to connect, by listener "
            + "(first-attempt failures that the retry saved)", "listener"),
    BACKEND_UP("l4mesh.backend.up", Kind.GAUGE, "1 when the backend's health is up, by pool and backend",
        "pool", "backend"),
    BACKEND_ELIGIBLE("l4mesh.backend.eligible", Kind.GAUGE,
        "1 when the backend takes new flows (up, not draining, weight > 0), by pool and backend", "pool", "backend"),
    BACKEND_WEIGHT("l4mesh.backend.weight", Kind.GAUGE, "Configured weight, by pool and backend", "pool", "backend"),
    HEALTH_CHECKS("l4mesh.health.checks", Kind.COUNTER, "Active health probes, by pool, backend and result",
        "pool", "backend", "result"),
    HEALTH_PROBE_TIME("l4mesh.health.probe.time", Kind.TIMER,
        "Successful active health probes: time from the probe's start to its verdict (connect, or the expected "
            + "answer), a histogram by pool and backend", "pool", "backend"),
    HEALTH_TRANSITIONS("l4mesh.health.transitions", Kind.COUNTER,
        "Backend health changes, by pool, backend and new state", "pool", "backend", "state"),
    POOL_VERSION("l4mesh.pool.version", Kind.GAUGE, "Routing snapshot version of a pool (rises on every change)",
        "pool"),
    POOL_REBUILDS("l4mesh.pool.rebuilds", Kind.COUNTER, "Routing snapshot (Maglev table) rebuilds, by pool", "pool"),
    CONFIG_RELOADS("l4mesh.config.reloads", Kind.COUNTER, "Config reloads, by result (ok, invalid)", "result"),
    ADMIN_REQUESTS("l4mesh.admin.requests", Kind.COUNTER, "Admin API requests, by status class (2xx, 4xx, 5xx)",
        "status"),
    ERRORS("l4mesh.errors", Kind.COUNTER, "Unexpected errors on the data path, by kind (logged once each)", "kind"),
    FLOWS("l4mesh.flows", Kind.COUNTER, "Packet-mode flow events, by listener and event (created, adopted from a peer, "
        + "non_syn_miss, rehashed_backend_removed, rehashed_backend_down, table_full)", "listener", "event"),
    FLOW_ENTRIES("l4mesh.flow.table.entries", Kind.GAUGE,
        "Flow-table entries, by listener and table (local: this node's packet threads; replica: flows peers sent)",
        "listener", "table"),
    FLOW_CAPACITY("l4mesh.flow.table.capacity", Kind.GAUGE, "Flow-table maxEntries, by listener", "listener"),
    FLOW_EVICTIONS("l4mesh.flow.table.evictions", Kind.COUNTER,
        "Flow-table entries removed before use, by listener and reason (expired, pressure: CLOCK under a full table)",
        "listener", "reason"),
    FLOW_SYNC_ENTRIES("l4mesh.flowsync.entries", Kind.COUNTER,
        "Flow-sync entries, by direction (out: sent to the peers; in: applied here; stale: an older or known copy)",
        "direction"),
    FLOW_SYNC_DATAGRAMS("l4mesh.flowsync.datagrams", Kind.COUNTER, "Flow-sync datagrams, by direction", "direction"),
    FLOW_SYNC_RETRANSMITS("l4mesh.flowsync.retransmits", Kind.COUNTER, "Flow-sync datagrams sent again after a NAK"),
    FLOW_SYNC_NAKS("l4mesh.flowsync.naks", Kind.COUNTER, "NAKs this node sent for flow-sync datagrams it missed"),
    FLOW_SYNC_LOST("l4mesh.flowsync.lost", Kind.COUNTER,
        "Flow-sync datagrams a peer could no longer resend (each loss starts a snapshot resync)"),
    FLOW_SYNC_DROPPED("l4mesh.flowsync.dropped", Kind.COUNTER,
        "Flow-sync messages or entries dropped, by reason (auth, malformed, stale, unknown_listener, full, "
            + "outbox_full; fault: lost on purpose by fault injection)", "reason", "listener"),
    VIP_ANNOUNCED("l4mesh.vip.announced", Kind.GAUGE,
        "1 while this node routes a packet-mode listener's VIP to itself (its BGP speaker announces it), by listener",
        "listener"),
    FLOW_SYNC_SNAPSHOTS("l4mesh.flowsync.snapshots", Kind.COUNTER, "Flow snapshots, by result (served, pulled, failed)",
        "result"),
    FLOW_SYNC_LAG("l4mesh.flowsync.lag", Kind.TIMER,
        "Replication lag: a flow's creation on a peer to its insertion here (millisecond resolution), a histogram"),
    MEMBERS("l4mesh.mesh.members", Kind.GAUGE, "Live members of the mesh as this node sees them, itself included"),
    GOSSIP_FRAMES("l4mesh.gossip.frames", Kind.COUNTER, "Gossip frames, by direction (in: accepted, out: sent)",
        "direction"),
    GOSSIP_REJECTED("l4mesh.gossip.rejected", Kind.COUNTER,
        "Gossip frames refused, by reason (bad_mac, replay, stale, malformed)", "reason"),
    GOSSIP_DROPPED("l4mesh.gossip.dropped", Kind.COUNTER, "Gossip frames dropped by fault injection (partitions)"),
    MESH_APPLY_FAILURES("l4mesh.mesh.apply.failures", Kind.COUNTER,
        "Gossiped pool changes this node could not apply (it routes differently until they apply)"),
    MESH_DIVERGENT("l4mesh.mesh.divergent", Kind.GAUGE, "Ledger entries this node has not applied (0: in step)"),
    MESH_MALFORMED("l4mesh.mesh.malformed", Kind.COUNTER, "Authenticated mesh messages whose content was refused"),
    MESH_LEDGER_ENTRIES("l4mesh.mesh.ledger.entries", Kind.GAUGE, "Entries (tombstones included) in the pool ledger"),
    MESH_CONVERGENCE("l4mesh.mesh.convergence", Kind.TIMER,
        "Control-plane convergence: time from a pool change made on this node until every member published the "
            + "same ledger digest, a histogram"),
    MESH_AGREEMENT("l4mesh.mesh.fingerprint.agreement", Kind.GAUGE,
        "1 when every member reports this node's Maglev fingerprint for the pool, by pool", "pool"),
    MESH_DEPARTURES("l4mesh.mesh.departures", Kind.COUNTER,
        "Members that went away, by kind (left: graceful; removed: declared dead by the failure detector)", "kind"),
    POOL_FINGERPRINT("l4mesh.pool.fingerprint", Kind.GAUGE,
        "High 52 bits of the pool's Maglev table fingerprint (exact as a double): equal on nodes that agree", "pool");

    /** Metric kinds, for the Prometheus suffix. */
    public enum Kind { COUNTER, GAUGE, TIMER }

    private final String name;
    private final Kind kind;
    private final String description;
    private final java.util.List<String> labels;

    MetricName(String name, Kind kind, String description, String... labels) {
        this.name = name;
        this.kind = kind;
        this.description = description;
        this.labels = java.util.List.of(labels);
    }

    /**
     * The labels of every series, besides {@code node} (every series has it) and, for a histogram's buckets,
     * {@code le}. Each is a bounded set: listeners, pools, backends and fixed reasons, never clients.
     */
    public java.util.List<String> labels() {
        return labels;
    }

    /** The micrometer name. */
    public String metric() {
        return name;
    }

    public Kind kind() {
        return kind;
    }

    public String description() {
        return description;
    }

    /** Registered only on nodes that are in a mesh. */
    public boolean meshOnly() {
        return name.startsWith("l4mesh.mesh.") || name.startsWith("l4mesh.gossip.")
            || name.startsWith("l4mesh.flowsync.");
    }

    /** Registered only for packet-mode listeners (flow sync runs only on nodes that have them). */
    public boolean packetOnly() {
        return this == PACKETS || this == PACKET_OFFLOAD || name.startsWith("l4mesh.flow.") || this == FLOWS || this == VIP_ANNOUNCED
            || name.startsWith("l4mesh.flowsync.");
    }

    /**
     * Every series name this metric exports: the name itself, and for a timer its histogram or summary parts
     * ({@code _bucket}, {@code _count}, {@code _sum}, {@code _max}).
     */
    public java.util.List<String> prometheusSeries() {
        String n = prometheusName();
        return kind == Kind.TIMER ? java.util.List.of(n, n + "_bucket", n + "_count", n + "_sum", n + "_max")
            : java.util.List.of(n);
    }

    /** The name as it appears on {@code /metrics}. */
    public String prometheusName() {
        String base = name.replace('.', '_');
        return switch (kind) {
            case COUNTER -> base + "_total";
            case TIMER -> base + "_seconds";
            case GAUGE -> base;
        };
    }
}
