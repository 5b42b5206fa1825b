package io.l4mesh.node.metrics;

import io.l4mesh.node.proxy.ListenerRuntime;
import io.l4mesh.node.routing.BackendRuntime;
import io.l4mesh.node.routing.Health;
import io.l4mesh.node.routing.PoolRuntime;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tags;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.ToDoubleFunction;

/**
 * The node's Prometheus registry. The data path never touches micrometer: it updates its own atomics, and the
 * meters registered here read them at scrape time (function counters and gauges).
 *
 * <p>Meters go to a composite registry: Prometheus (scraped from {@code /metrics}) and, when
 * {@code telemetry.otlp.metrics} is on, micrometer's OTLP registry, which pushes the same meters to a collector.
 *
 * <p>Threading: bind/unbind are called by the control thread; scrapes by the admin loop.
 */
public final class NodeMetrics {
    /**
     * Fixed histogram buckets, 0.1 ms to 5 s, for every latency (summable across nodes and comparable between
     * histograms, unlike client-side percentiles).
     */
    private static final java.time.Duration[] LATENCY_BUCKETS = java.util.stream.Stream.of(
        100_000L, 250_000L, 500_000L, 1_000_000L, 2_500_000L, 5_000_000L, 10_000_000L, 25_000_000L, 50_000_000L,
        100_000_000L, 250_000_000L, 500_000_000L, 1_000_000_000L, 2_500_000_000L, 5_000_000_000L)
        .map(java.time.Duration::ofNanos).toArray(java.time.Duration[]::new);
    /** Where meters are registered: Prometheus always, OTLP too when configured. */
    private final io.micrometer.core.instrument.composite.CompositeMeterRegistry registry =
        new io.micrometer.core.instrument.composite.CompositeMeterRegistry();
    private final PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    /** Pushes every meter over OTLP/HTTP every interval, or null (the default). */
    private final io.micrometer.registry.otlp.OtlpMeterRegistry otlp;
    private final Map<Object, List<Meter>> bound = new ConcurrentHashMap<>();

    public NodeMetrics(String nodeId) {
        this(nodeId, null);
    }

    /** With {@code telemetry.metrics()}, every meter is also pushed to {@code telemetry}'s OTLP endpoint. */
    public NodeMetrics(String nodeId, io.l4mesh.node.config.TelemetryConfig telemetry) {
        registry.config().commonTags("node", nodeId);
        registry.add(prometheus);
        if (telemetry != null && telemetry.metrics()) {
            otlp = new io.micrometer.registry.otlp.OtlpMeterRegistry(otlpConfig(nodeId, telemetry),
                io.micrometer.core.instrument.Clock.SYSTEM);
            registry.add(otlp);
        } else {
            otlp = null;
        }
    }

    private static io.micrometer.registry.otlp.OtlpConfig otlpConfig(String nodeId,
                                                                    io.l4mesh.node.config.TelemetryConfig t) {
        return new io.micrometer.registry.otlp.OtlpConfig() {
            @Override
            public String get(String key) {
                return null;    // everything below, nothing from system properties or the environment
            }

            @Override
            public String url() {
                return t.signalUrl("metrics");
            }

            @Override
            public java.time.Duration step() {
                return t.interval();
            }

            @Override
            public Map<String, String> resourceAttributes() {
                return Map.of("service.name", "l4mesh", "service.instance.id", nodeId);
            }
        };
    }

    /** Where the node's meters are registered. */
    public io.micrometer.core.instrument.MeterRegistry registry() {
        return registry;
    }

    /** Prometheus text exposition. */
    public String scrape() {
        return prometheus.scrape();
    }

    /** Stops the OTLP push, after one last push of what it has. */
    public void close() {
        if (otlp != null) {
            otlp.close();
        }
    }

    /** Registers a listener's meters (tag {@code listener}). */
    public void bind(ListenerRuntime l) {
        Tags t = Tags.of("listener", l.name());
        List<Meter> m = new ArrayList<>();
        m.add(counter(MetricName.CONNECTIONS, t, l, ListenerRuntime::acceptedTotal));
        if (l.config().packet() == null) {     // packet mode: its flow table's entries, bound with the packet meters
            m.add(gauge(MetricName.CONNECTIONS_ACTIVE, t, l, ListenerRuntime::activeFlows));
        }
        m.add(counter(MetricName.CONNECTIONS_REJECTED, t.and("reason", "limit"), l, ListenerRuntime::rejectedLimitTotal));
        m.add(counter(MetricName.CONNECTIONS_REJECTED, t.and("reason", "no_backend"), l,
            ListenerRuntime::rejectedNoBackendTotal));
        m.add(counter(MetricName.CONNECTIONS_REJECTED, t.and("reason", "connect_failed"), l,
            ListenerRuntime::rejectedConnectFailedTotal));
        if (l.config().protocol() == io.l4mesh.node.config.Protocol.TCP && l.config().packet() == null) {
            m.add(counter(MetricName.CONNECTIONS_RETRIED, t, l, ListenerRuntime::retriedTotal));
        }
        m.add(counter(MetricName.IDLE_TIMEOUTS, t, l, ListenerRuntime::idleTimeoutsTotal));
        m.add(counter(MetricName.RESETS, t.and("from", "client"), l, ListenerRuntime::resetsFromClientTotal));
        m.add(counter(MetricName.RESETS, t.and("from", "backend"), l, ListenerRuntime::resetsFromBackendTotal));
        m.add(counter(MetricName.BYTES, t.and("direction", "in"), l, ListenerRuntime::bytesInTotal));
        m.add(counter(MetricName.BYTES, t.and("direction", "out"), l, ListenerRuntime::bytesOutTotal));
        if (l.config().protocol() == io.l4mesh.node.config.Protocol.UDP && l.config().packet() == null) {
            m.add(counter(MetricName.UDP_SESSIONS, t, l, ListenerRuntime::acceptedTotal));
            m.add(gauge(MetricName.UDP_SESSIONS_ACTIVE, t, l, ListenerRuntime::activeFlows));
            m.add(counter(MetricName.UDP_DATAGRAMS, t.and("direction", "in"), l, ListenerRuntime::datagramsInTotal));
            m.add(counter(MetricName.UDP_DATAGRAMS, t.and("direction", "out"), l, ListenerRuntime::datagramsOutTotal));
        }
        replace(l, m);
    }

    /** Registers a packet listener's flow-table meters (tag {@code listener}). */
    public void bind(io.l4mesh.node.packet.PacketListener p) {
        Tags t = Tags.of("listener", p.runtime().name());
        List<Meter> m = new ArrayList<>();
        io.l4mesh.node.packet.PacketCounters pc = p.counters();
        m.add(counter(MetricName.PACKETS, t.and("result", "forwarded"), pc, x -> x.forwarded()));
        m.add(counter(MetricName.PACKETS, t.and("result", "icmp_error"), pc, x -> x.icmpErrors()));
        m.add(counter(MetricName.PACKETS, t.and("result", "fragment"), pc, x -> x.fragments()));
        m.add(counter(MetricName.PACKETS, t.and("result", "malformed"), pc, x -> x.malformed()));
        m.add(counter(MetricName.PACKETS, t.and("result", "unsupported"), pc, x -> x.unsupported()));
        m.add(counter(MetricName.PACKETS, t.and("result", "no_backend"), pc, x -> x.noBackend()));
        m.add(counter(MetricName.PACKETS, t.and("result", "too_big"), pc, x -> x.tooBig()));
        m.add(counter(MetricName.PACKETS, t.and("result", "send_error"), pc, x -> x.sendErrors()));
        m.add(counter(MetricName.PACKETS, t.and("result", "icmp_sent"), pc, x -> x.icmpSent()));
        m.add(counter(MetricName.PACKETS, t.and("result", "health_probe"), pc, x -> x.probes()));
        m.add(counter(MetricName.PACKET_OFFLOAD, t.and("kind", "super_packets"), pc, x -> x.superPackets()));
        m.add(counter(MetricName.PACKET_OFFLOAD, t.and("kind", "segments"), pc, x -> x.segments()));
        m.add(counter(MetricName.PACKET_OFFLOAD, t.and("kind", "udp_gso_sends"), pc, x -> x.gsoSends()));
        m.add(counter(MetricName.PACKET_OFFLOAD, t.and("kind", "udp_gso_packets"), pc, x -> x.gsoPackets()));
        m.add(counter(MetricName.FLOWS, t.and("event", "created"), pc, x -> x.flowsCreated()));
        m.add(counter(MetricName.FLOWS, t.and("event", "adopted"), pc, x -> x.flowsAdopted()));
        m.add(counter(MetricName.FLOWS, t.and("event", "non_syn_miss"), pc, x -> x.nonSynMisses()));
        m.add(counter(MetricName.FLOWS, t.and("event", "rehashed_backend_removed"), pc, x -> x.rehashed("removed")));
        m.add(counter(MetricName.FLOWS, t.and("event", "rehashed_backend_down"), pc, x -> x.rehashed("down")));
        m.add(counter(MetricName.FLOWS, t.and("event", "table_full"), pc, x -> x.tableFull()));
        m.add(gauge(MetricName.CONNECTIONS_ACTIVE, t, p, x -> x.activeFlows()));
        m.add(gauge(MetricName.VIP_ANNOUNCED, t, p, x -> x.announced() ? 1 : 0));
        m.add(gauge(MetricName.FLOW_ENTRIES, t.and("table", "local"), p, x -> x.flowEntries()));
        m.add(gauge(MetricName.FLOW_ENTRIES, t.and("table", "replica"), p,
            x -> x.flows() == null ? 0 : x.flows().replica().size()));
        m.add(gauge(MetricName.FLOW_CAPACITY, t, p, x -> x.flowCapacity()));
        m.add(counter(MetricName.FLOW_EVICTIONS, t.and("reason", "expired"), p, x -> x.flowEvictions("expired")));
        m.add(counter(MetricName.FLOW_EVICTIONS, t.and("reason", "pressure"), p, x -> x.flowEvictions("pressure")));
        m.add(counter(MetricName.FLOW_SYNC_DROPPED, t.and("reason", "outbox_full"), p,
            x -> x.flows() == null ? 0 : x.flows().outboxFullTotal()));
        replace(p, m);
    }

    /** Registers flow sync's meters. */
    public void bind(io.l4mesh.node.flow.FlowSync fs) {
        io.l4mesh.node.flow.FlowSyncStats s = fs.stats();
        List<Meter> m = new ArrayList<>();
        m.add(counter(MetricName.FLOW_SYNC_ENTRIES, Tags.of("direction", "out"), s, x -> x.entriesOut()));
        m.add(counter(MetricName.FLOW_SYNC_ENTRIES, Tags.of("direction", "in"), s, x -> x.entriesIn()));
        m.add(counter(MetricName.FLOW_SYNC_ENTRIES, Tags.of("direction", "stale"), s, x -> x.entriesStale()));
        m.add(counter(MetricName.FLOW_SYNC_DATAGRAMS, Tags.of("direction", "out"), s, x -> x.datagramsOut()));
        m.add(counter(MetricName.FLOW_SYNC_DATAGRAMS, Tags.of("direction", "in"), s, x -> x.datagramsIn()));
        m.add(counter(MetricName.FLOW_SYNC_RETRANSMITS, Tags.empty(), s, x -> x.retransmits()));
        m.add(counter(MetricName.FLOW_SYNC_NAKS, Tags.empty(), s, x -> x.naks()));
        m.add(counter(MetricName.FLOW_SYNC_LOST, Tags.empty(), s, x -> x.lost()));
        for (String reason : io.l4mesh.node.flow.FlowSyncStats.DROP_REASONS) {
            m.add(counter(MetricName.FLOW_SYNC_DROPPED, Tags.of("reason", reason, "listener", ""), s,
                x -> x.dropped(reason)));
        }
        m.add(counter(MetricName.FLOW_SYNC_SNAPSHOTS, Tags.of("result", "served"), s, x -> x.snapshotsServed()));
        m.add(counter(MetricName.FLOW_SYNC_SNAPSHOTS, Tags.of("result", "pulled"), s, x -> x.snapshotsPulled()));
        m.add(counter(MetricName.FLOW_SYNC_SNAPSHOTS, Tags.of("result", "failed"), s, x -> x.snapshotsFailed()));
        io.micrometer.core.instrument.Timer lag = histogram(MetricName.FLOW_SYNC_LAG, Tags.empty());
        s.lagRecorder(us -> lag.record(us, java.util.concurrent.TimeUnit.MICROSECONDS));
        m.add(lag);
        replace(fs, m);
    }

    /** Registers a pool's meters (tag {@code pool}). */
    public void bind(PoolRuntime p) {
        Tags t = Tags.of("pool", p.name());
        List<Meter> m = new ArrayList<>();
        m.add(gauge(MetricName.POOL_VERSION, t, p, x -> x.snapshot() == null ? 0 : x.snapshot().version()));
        m.add(counter(MetricName.POOL_REBUILDS, t, p, PoolRuntime::rebuildCount));
        m.add(gauge(MetricName.POOL_FINGERPRINT, t, p, x -> x.snapshot() == null ? 0
            : (double) (x.snapshot().table().fingerprint() >>> 12)));
        replace(p, m);
    }

    /** Registers a backend's meters (tags {@code pool}, {@code backend}). */
    public void bind(PoolRuntime p, BackendRuntime b) {
        Tags t = Tags.of("pool", p.name(), "backend", b.id());
        List<Meter> m = new ArrayList<>();
        m.add(counter(MetricName.BACKEND_CONNECTIONS, t, b, BackendRuntime::totalFlows));
        m.add(gauge(MetricName.BACKEND_CONNECTIONS_ACTIVE, t, b, BackendRuntime::flowsNow));
        m.add(counter(MetricName.BACKEND_CONNECT_FAILURES, t, b, BackendRuntime::totalConnectFailures));
        m.add(latency(b, BackendRuntime.Latency.CONNECT, MetricName.BACKEND_CONNECT_TIME, t));
        m.add(latency(b, BackendRuntime.Latency.FIRST_BYTE, MetricName.BACKEND_FIRST_BYTE_TIME, t));
        m.add(latency(b, BackendRuntime.Latency.PROBE, MetricName.HEALTH_PROBE_TIME, t));
        m.add(gauge(MetricName.BACKEND_UP, t, b, x -> x.health() == Health.UP ? 1 : 0));
        m.add(gauge(MetricName.BACKEND_ELIGIBLE, t, b, x -> x.eligible() ? 1 : 0));
        m.add(gauge(MetricName.BACKEND_WEIGHT, t, b, BackendRuntime::weight));
        m.add(counter(MetricName.HEALTH_CHECKS, t.and("result", "ok"), b, BackendRuntime::probesOkTotal));
        m.add(counter(MetricName.HEALTH_CHECKS, t.and("result", "failed"), b, BackendRuntime::probesFailedTotal));
        m.add(counter(MetricName.HEALTH_TRANSITIONS, t.and("state", "up"), b, BackendRuntime::transitionsUpTotal));
        m.add(counter(MetricName.HEALTH_TRANSITIONS, t.and("state", "down"), b, BackendRuntime::transitionsDownTotal));
        replace(b, m);
    }

    /** Registers the mesh's meters. */
    public void bind(io.l4mesh.node.mesh.Mesh mesh, java.util.Collection<String> poolNames) {
        List<Meter> m = new ArrayList<>();
        Tags none = Tags.empty();
        m.add(gauge(MetricName.MEMBERS, none, mesh, x -> x.view() == null ? 1 : x.view().size()));
        m.add(counter(MetricName.GOSSIP_FRAMES, Tags.of("direction", "in"), mesh, x -> x.stats().framesIn()));
        m.add(counter(MetricName.GOSSIP_FRAMES, Tags.of("direction", "out"), mesh, x -> x.stats().framesOut()));
        m.add(counter(MetricName.GOSSIP_REJECTED, Tags.of("reason", "bad_mac"), mesh, x -> x.stats().rejectedBadMac()));
        m.add(counter(MetricName.GOSSIP_REJECTED, Tags.of("reason", "replay"), mesh, x -> x.stats().rejectedReplay()));
        m.add(counter(MetricName.GOSSIP_REJECTED, Tags.of("reason", "stale"), mesh, x -> x.stats().rejectedStale()));
        m.add(counter(MetricName.GOSSIP_REJECTED, Tags.of("reason", "malformed"), mesh,
            x -> x.stats().rejectedMalformed()));
        m.add(counter(MetricName.GOSSIP_DROPPED, none, mesh, x -> x.stats().droppedByFault()));
        m.add(counter(MetricName.MESH_MALFORMED, none, mesh, io.l4mesh.node.mesh.Mesh::malformedTotal));
        m.add(counter(MetricName.MESH_APPLY_FAILURES, none, mesh, io.l4mesh.node.mesh.Mesh::applyFailuresTotal));
        m.add(gauge(MetricName.MESH_DIVERGENT, none, mesh, x -> x.divergence().size()));
        m.add(gauge(MetricName.MESH_LEDGER_ENTRIES, none, mesh, io.l4mesh.node.mesh.Mesh::ledgerSize));
        io.micrometer.core.instrument.Timer convergence = histogram(MetricName.MESH_CONVERGENCE, none);
        mesh.convergenceTimes(nanos -> convergence.record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS));
        m.add(convergence);
        m.add(counter(MetricName.MESH_DEPARTURES, Tags.of("kind", "left"), mesh,
            io.l4mesh.node.mesh.Mesh::leftTotal));
        m.add(counter(MetricName.MESH_DEPARTURES, Tags.of("kind", "removed"), mesh,
            io.l4mesh.node.mesh.Mesh::removedTotal));
        for (String pool : poolNames) {
            m.add(gauge(MetricName.MESH_AGREEMENT, Tags.of("pool", pool), mesh, x -> x.agreement(pool)));
        }
        replace(mesh, m);
    }

    /** Removes every meter registered for {@code owner}. */
    public void unbind(Object owner) {
        List<Meter> old = bound.remove(owner);
        if (old != null) {
            old.forEach(registry::remove);
        }
    }

    /** A plain counter owned by the registry (control-plane events, not the data path). */
    public Counter counter(MetricName name, String... tags) {
        return Counter.builder(name.metric()).description(name.description()).tags(tags).register(registry);
    }

    /** A histogram with the fixed latency buckets. */
    private io.micrometer.core.instrument.Timer histogram(MetricName name, Tags tags) {
        return io.micrometer.core.instrument.Timer.builder(name.metric()).description(name.description()).tags(tags)
            .serviceLevelObjectives(LATENCY_BUCKETS).register(registry);
    }

    /** A backend's {@code kind} latencies into a histogram of {@code name}. */
    private Meter latency(BackendRuntime b, BackendRuntime.Latency kind, MetricName name, Tags tags) {
        io.micrometer.core.instrument.Timer h = histogram(name, tags);
        b.latencies(kind, nanos -> h.record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS));
        return h;
    }

    private void replace(Object owner, List<Meter> meters) {
        unbind(owner);
        bound.put(owner, meters);
    }

    private <T> Meter counter(MetricName name, Tags tags, T obj, ToDoubleFunction<T> f) {
        return FunctionCounter.builder(name.metric(), obj, f).description(name.description()).tags(tags)
            .register(registry);
    }

    private <T> Meter gauge(MetricName name, Tags tags, T obj, ToDoubleFunction<T> f) {
        return Gauge.builder(name.metric(), obj, f).description(name.description()).tags(tags)
            .strongReference(true).register(registry);
    }
}
