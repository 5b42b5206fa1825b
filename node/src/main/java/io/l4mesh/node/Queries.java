package io.l4mesh.node;

import io.l4mesh.hashring.FlowHash;
import io.l4mesh.hashring.HashAlgorithm;
import io.l4mesh.node.admin.NodeStatus;
import io.l4mesh.node.config.HostPort;
import io.l4mesh.node.config.ListenerConfig;
import io.l4mesh.node.config.NodeConfig;
import io.l4mesh.node.proxy.ListenerRuntime;
import io.l4mesh.node.proxy.ProxyListener;
import io.l4mesh.node.routing.BackendRuntime;
import io.l4mesh.node.routing.Placement;
import io.l4mesh.node.routing.PoolRuntime;
import io.l4mesh.node.routing.RoutingSnapshot;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * What a node reports about itself: status, where a flow goes, and the self-check behind {@code /healthz}. Any
 * thread: everything here reads published state (the listener and pool lists as last changed, the pools'
 * snapshots, the counters), never the control thread's, so a busy control plane cannot slow an answer.
 */
final class Queries {
    private final Supplier<NodeConfig> config;
    private final Listeners listeners;
    private final Pools pools;
    private final String transport;
    private final HashAlgorithm algorithm;
    private final BooleanSupplier draining;
    private final long startedNanos = System.nanoTime();

    Queries(Supplier<NodeConfig> config, Listeners listeners, Pools pools, String transport, HashAlgorithm algorithm,
            BooleanSupplier draining) {
        this.config = config;
        this.listeners = listeners;
        this.pools = pools;
        this.transport = transport;
        this.algorithm = algorithm;
        this.draining = draining;
    }

    NodeStatus status() {
        List<NodeStatus.Listener> ls = new ArrayList<>();
        long flows = 0;
        for (ProxyListener pl : listeners.view()) {
            ListenerRuntime l = pl.runtime();
            ListenerConfig c = l.config();
            long active = pl.activeFlows();
            flows += active;
            ls.add(new NodeStatus.Listener(c.name(), c.protocol().name().toLowerCase(),
                bound(pl), c.pool(), c.algorithm().configName(), active,
                c.maxConnections(), l.acceptedTotal(), l.rejectedLimitTotal(), l.rejectedNoBackendTotal(),
                l.rejectedConnectFailedTotal(), l.idleTimeoutsTotal(), l.resetsTotal(), l.bytesInTotal(),
                l.bytesOutTotal()));
        }
        List<NodeStatus.Pool> ps = new ArrayList<>();
        for (PoolRuntime p : pools.view()) {
            RoutingSnapshot s = p.snapshot();
            int[] slots = s.table().slotCounts();
            List<NodeStatus.Backend> bs = new ArrayList<>();
            List<BackendRuntime> list = s.backends();
            for (int i = 0; i < list.size(); i++) {
                BackendRuntime b = list.get(i);
                bs.add(new NodeStatus.Backend(b.id(), b.weight(), b.draining(), b.health().name().toLowerCase(),
                    b.healthReason(), b.localHealth().name().toLowerCase(), b.localReason(), b.eligible(),
                    b.flowsNow(), b.totalFlows(), b.totalConnectFailures(), slots[i]));
            }
            ps.add(new NodeStatus.Pool(p.name(), s.version(), String.format("%016x", s.table().fingerprint()),
                s.eligibleCount(), bs));
        }
        NodeConfig c = config.get();
        return new NodeStatus(c.nodeId(), Node.VERSION, (System.nanoTime() - startedNanos) / 1_000_000_000L,
            transport, draining.getAsBoolean(), algorithm.id(), c.maglevTableSize(), flows, ls, ps);
    }

    /**
     * Which backend a new flow from {@code source} to {@code destination} (null: the listener's address) would
     * get now. Any thread.
     */
    NodeStatus.Lookup lookup(String listenerName, InetSocketAddress source, InetSocketAddress destination) {
        ProxyListener pl = listeners.find(listenerName);
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
     * The self-check behind {@code /healthz}: null when this node can serve, else why not. A packet-mode listener
     * whose pool has no backend to take flows fails it, so the node's announcer withdraws the VIP and the router
     * sends the traffic to nodes that can place it. Any thread: it reads only published state (the listeners as last
     * changed, the pools' snapshots), so a busy control thread cannot make {@code /healthz} slow and the announcer
     * withdraw a node that can serve.
     */
    String selfCheck() {
        if (!listeners.flowsReady()) {
            return "flow snapshot from the peers pending";
        }
        for (ProxyListener l : listeners.view()) {
            ListenerRuntime rt = l.runtime();
            if (rt.config().packet() != null && rt.pool().snapshot().eligibleCount() == 0) {
                return "listener " + rt.name() + ": no backend of pool " + rt.pool().name() + " takes flows";
            }
        }
        return null;
    }

    /** This node's load, from published state (any thread). */
    io.l4mesh.node.mesh.NodeLoad load(String nodeId) {
        long connections = 0;
        long packets = 0;
        long flows = 0;
        int vips = 0;
        int announced = 0;
        for (ProxyListener pl : listeners.view()) {
            flows += pl.activeFlows();
            if (pl instanceof io.l4mesh.node.packet.PacketListener p) {
                vips++;
                announced += p.announced() ? 1 : 0;
                packets += p.counters().forwarded();
                connections += p.counters().flowsCreated();
            } else {
                connections += pl.runtime().acceptedTotal();
            }
        }
        String state = draining.getAsBoolean() ? "draining" : selfCheck() != null ? "not-ready" : "serving";
        return new io.l4mesh.node.mesh.NodeLoad(nodeId, System.currentTimeMillis(), state, vips, announced,
            connections, packets, flows);
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
}
