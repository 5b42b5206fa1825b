package io.l4mesh.node.packet;

import io.l4mesh.hashring.MaglevTable;
import io.l4mesh.node.flow.FlowClock;
import io.l4mesh.node.flow.FlowEntry;
import io.l4mesh.node.flow.FlowSync;
import io.l4mesh.node.flow.FlowTable;
import io.l4mesh.node.flow.ListenerFlows;
import io.l4mesh.node.flow.Outbox;
import io.l4mesh.node.routing.BackendRuntime;
import io.l4mesh.node.routing.Placement;
import io.l4mesh.node.routing.PoolRuntime;
import io.l4mesh.node.routing.RoutingSnapshot;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * One packet thread of a VIP in packet mode (DSR): reads the client's IP packets from a TUN queue, places each flow
 * on a backend, and sends the packet to it encapsulated (GUE or VXLAN). The node never sees the replies: backends
 * answer the client directly.
 *
 * <p>Placement: the thread's own flow table first; a flow whose recorded backend still exists and is up keeps it
 * (draining included), even after a pool change moved its Maglev slot. A removed or down backend's flow is placed
 * again by Maglev and counted (that connection cannot survive). On a miss, the replica of flows that peers
 * placed (flow sync); a flow found there is adopted. Otherwise Maglev over the converged pool decides, the flow is
 * recorded and sent to the peers. A TCP packet without SYN that misses everywhere is placed by hash all the same,
 * and counted (like Katran). A full table never drops a packet: the flow goes by hash and is counted.
 *
 * <p>No object is made per packet: the TUN read lands at the encapsulation's overhead in one of {@link #BATCH}
 * buffers allocated once, the headers go in front of it, and the raw socket sends the batch in one
 * {@code sendmmsg} when the TUN queue has nothing more (or the batch is full): under load, one system call per
 * packet for the read and one per batch for the sends.
 *
 * <p>With offloads on the TUN device ({@link Tun#offload}), one read may be a TCP or UDP super-packet: it moves to a
 * spare buffer and its segments are cut into the batch's buffers ({@link Offload}), so bulk TCP costs one read per
 * 64 KiB, and a run of datagrams of one flow that the kernel merged on the way in one read.
 *
 * <p>Packets whose encapsulation would exceed {@code mtu} are dropped and counted (the fabric between nodes and
 * backends needs an MTU 28 (GUE) or 50 (VXLAN) bytes above the clients'); for an IPv4 packet with don't-fragment
 * set the client gets an ICMP "fragmentation needed" naming {@code mtu} less the overhead (at most one per
 * millisecond per thread), so path MTU
 * discovery shrinks its packets. IPv4 and IPv6 fragments are dropped and counted, like Katran. ICMP errors about a
 * flow go to that flow's backend.
 *
 * <p>Threading: {@link #run} on one thread; {@link #stop} from any.
 */
public final class PacketForwarder implements Runnable {
    /** Packets sent together in one {@code sendmmsg}. */
    static final int BATCH = 32;
    private final Tun tun;
    private final RawIpv4Socket raw;
    /** Null when this host cannot open one (no IPv6): IPv6 backends are then counted as unsupported. */
    private final RawIpv6UdpSocket raw6;
    /** Health probes through the tunnel (null: none). */
    private final ProbeSteering steering;
    private final java.util.function.Supplier<PoolRuntime> pool;
    private final int vipPort;
    private final int protocol;
    private final Encapsulator encap;
    private final PacketCounters counters;
    private final int mtu;
    private final long seed;
    private final FlowTable table;
    /** Null without flow sync. */
    private final FlowTable replica;
    private final ListenerFlows sync;
    private final Outbox outbox;
    private final Outbox inbox;
    private final long[] inboxBuf = new long[4 * 64];
    private final FlowTable.Visitor refresh;
    private final long sweepPeriodNanos;
    private final long[] replicaRead = new long[3];
    private long lastSweepNanos = System.nanoTime();
    /** The clock read once per packet (or per idle poll): nanoseconds, and the flow tables' seconds. */
    private long nowNanos;
    /** The flow hash of the packet {@link #forward} last sent on (its datagrams' outer source port). */
    private long forwardedHash;
    /** Inner bytes of the packets in the pending batch. */
    private long batchBytes;
    private int nowSeconds;
    private volatile boolean running = true;
    /**
     * Packet thread only: per slot of the batch (and one spare), the buffer, where the inner packet starts, where an
     * IPv6 encapsulation starts, and where a TUN read lands (before the inner packet by the offload header, if any).
     */
    private MemorySegment[] bufs;
    private MemorySegment[] inners;
    private MemorySegment[] fromUdp;
    private MemorySegment[] reads;
    /** Packet thread only: UDP GSO toward IPv4 backends, with offloads (else null). */
    private UdpGso gso;
    /** Packet thread only: a buffer for ICMP errors and when the last one went. */
    private MemorySegment icmp;
    private long lastIcmpNanos;

    /**
     * @param pool     the VIP's pool (read per packet: a reload may swap it)
     * @param vipPort  the service port; packets to other ports are dropped and counted (0: every port)
     * @param protocol the service's IP protocol (6 or 17); ICMP errors about its flows pass too
     * @param table    this thread's flow table (its own; the thread closes nothing)
     * @param sync     the listener's flow sync, or null
     * @param index    this thread's index (its outbox)
     */
    public PacketForwarder(Tun tun, RawIpv4Socket raw, RawIpv6UdpSocket raw6,
                           java.util.function.Supplier<PoolRuntime> pool, int vipPort, int protocol, Encapsulator encap,
                           PacketCounters counters, int mtu, FlowTable table, ListenerFlows sync, int index,
                           int refreshSeconds, ProbeSteering steering) {
        this.tun = tun;
        this.raw = raw;
        this.raw6 = raw6;
        this.steering = steering;
        this.pool = pool;
        this.vipPort = vipPort;
        this.protocol = protocol;
        this.encap = encap;
        this.counters = counters;
        this.mtu = mtu;
        this.seed = pool.get().snapshot().table().algorithm().flowSeed();
        this.table = table;
        this.sync = sync;
        this.replica = sync == null ? null : sync.replica();
        this.outbox = sync == null ? null : sync.outbox(index);
        this.inbox = sync == null ? null : sync.inbox(index);
        this.refresh = sync == null ? null : (hi, lo, ports, backend, version, state) -> {
            if (!outbox.offer(hi, lo, ports, backend, version, state | FlowSync.REFRESH)) {
                sync.outboxFull();
            }
        };
        this.sweepPeriodNanos = Math.max(1, refreshSeconds) * 1_000_000_000L;
        // each flow this thread records counts for its backend (the ACTIVE column of l4mesh status, the gauge)
        table.occupancy((backendId, delta) -> {
            RoutingSnapshot s = pool.get().snapshot();
            int i = s.indexOfFlowId(backendId);
            if (i >= 0) {
                s.backendAt(i).packetFlows(delta);
            }
        });
    }

    @Override
    public void run() {
        try (Arena arena = Arena.ofConfined()) {
            int header = tun.offload() ? Offload.HEADER : 0;
            bufs = new MemorySegment[BATCH + 1];
            inners = new MemorySegment[BATCH + 1];
            fromUdp = new MemorySegment[BATCH + 1];
            reads = new MemorySegment[BATCH + 1];
            for (int i = 0; i <= BATCH; i++) {      // the last is the spare that a super-packet moves to
                bufs[i] = arena.allocate(encap.overhead() + Tun.MAX_PACKET, 8);
                inners[i] = bufs[i].asSlice(encap.overhead(), Tun.MAX_PACKET);
                fromUdp[i] = bufs[i].asSlice(Encapsulator.IPV6_START);
                reads[i] = bufs[i].asSlice(encap.overhead() - header, Tun.MAX_PACKET + header);
            }
            gso = tun.offload() ? new UdpGso() : null;
            SendBatch batch4 = new SendBatch(arena, BATCH, false);
            SendBatch batch6 = new SendBatch(arena, BATCH, true);
            PacketParser parser = new PacketParser();
            icmp = arena.allocate(IcmpWriter.MAX_LENGTH);
            while (running) {
                int slot = batch4.size() + batch6.size();
                int n;
                try {
                    // wait only when nothing is queued: a queued batch goes out as soon as the TUN queue is empty
                    n = slot == 0 ? tun.read(reads[slot], 100) : tun.readNow(reads[slot]);
                } catch (IOException e) {
                    if (running) {
                        counters.sendErrors.increment();
                    }
                    n = -1;
                }
                nowNanos = System.nanoTime();
                nowSeconds = FlowClock.seconds(nowNanos);
                if (n > header) {
                    if (header == 0) {
                        forward(bufs[slot], fromUdp[slot], inners[slot], n, parser, batch4, batch6);
                    } else {
                        offloaded(slot, n - header, parser, batch4, batch6);
                    }
                }
                if (n <= header || batch4.size() + batch6.size() == BATCH) {
                    flush(batch4, batch6);
                }
                sweep();
            }
            flush(batch4, batch6);
        } finally {
            if (gso != null) {
                gso.close();
            }
        }
    }

    /**
     * A read from a TUN device with offloads ({@link Offload}): a whole packet goes on as read (its checksum
     * finished first if the sender left it begun); a TCP or UDP super-packet moves to the spare buffer and is cut
     * into segments in the batch's free slots, each forwarded as if it had been read alone (a UDP super-packet's
     * datagrams, one flow, go where its first went).
     */
    private void offloaded(int slot, int n, PacketParser parser, SendBatch batch4, SendBatch batch6) {
        MemorySegment header = reads[slot];
        int gso = Offload.gsoType(header);
        if (gso == Offload.GSO_NONE) {
            if ((Offload.flags(header) & Offload.NEEDS_CSUM) != 0 && !Offload.completeChecksum(inners[slot], n,
                Offload.csumStart(header), Offload.csumOffset(header))) {
                counters.received.increment();
                counters.malformed.increment();
                return;
            }
            forward(bufs[slot], fromUdp[slot], inners[slot], n, parser, batch4, batch6);
            return;
        }
        int size = Offload.gsoSize(header);
        int count = Offload.segments(inners[slot], n, gso, size);
        if (count < 0) {
            counters.received.increment();
            counters.malformed.increment();
            return;
        }
        swap(slot, BATCH);
        MemorySegment whole = inners[BATCH];
        counters.superPackets.increment();
        counters.segments.add(count);
        // A UDP super-packet is one flow's datagrams: once the first is placed, the others go where it went (TCP's
        // segments are placed one by one, since the last may carry the FIN that changes the flow's state).
        BackendRuntime same = null;
        for (int k = 0; k < count; k++) {
            int free = batch4.size() + batch6.size();
            int length = Offload.segment(whole, n, gso, size, k, inners[free]);
            if (same != null) {
                counters.received.increment();
                encapsulate(same, forwardedHash, bufs[free], fromUdp[free], length, batch4, batch6);
            } else {
                BackendRuntime b = forward(bufs[free], fromUdp[free], inners[free], length, parser, batch4, batch6);
                same = gso == Offload.GSO_UDP_L4 ? b : null;
            }
            if (batch4.size() + batch6.size() == BATCH) {
                flush(batch4, batch6);
            }
        }
    }

    /** Exchanges two slots' buffers (and their views). */
    private void swap(int a, int b) {
        swap(bufs, a, b);
        swap(inners, a, b);
        swap(fromUdp, a, b);
        swap(reads, a, b);
    }

    private static void swap(MemorySegment[] s, int a, int b) {
        MemorySegment t = s[a];
        s[a] = s[b];
        s[b] = t;
    }

    private void flush(SendBatch batch4, SendBatch batch6) {
        int n4 = batch4.size();
        int n6 = batch6.size();
        if (n4 + n6 == 0) {
            return;
        }
        int failed = 0;
        if (n4 > 0) {
            try {
                failed += send4(batch4);
            } catch (IOException e) {
                failed += n4;
            }
        }
        if (n6 > 0) {
            try {
                failed += raw6.sendBatch(batch6);
            } catch (IOException e) {
                failed += n6;
            }
        }
        counters.forwarded.add(n4 + n6 - failed);
        counters.bytesForwarded.add(batchBytes);
        batchBytes = 0;
        if (failed > 0) {
            counters.sendErrors.add(failed);
        }
    }

    /**
     * Sends the IPv4 batch in its order: each run of two or more packets of one flow (one backend, one pair of outer
     * ports, one size but a shorter last) as one UDP GSO send ({@link UdpGso}), the others through the raw socket.
     *
     * @return packets the kernel refused
     */
    private int send4(SendBatch b) throws IOException {
        int n = b.size();
        if (gso == null || !gso.on() || n < 2) {
            return raw.sendBatch(b);
        }
        int failed = 0;
        try {
            int start = 0;
            int i = 0;
            while (i < n) {
                int j = UdpGso.runEnd(b, i, n);
                int fd = j - i >= 2 ? gso.socketFor(b.packet(i).get(PacketParser.U16, 20) & 0xFFFF, j - i) : -1;
                if (fd >= 0) {
                    if (start < i) {
                        failed += raw.sendBatch(b, start, i);
                    }
                    if (gso.sendRun(b, i, j, fd)) {
                        counters.gsoSends.increment();
                        counters.gsoPackets.add(j - i);
                    } else {
                        failed += raw.sendBatch(b, i, j);     // a UDP send is all or nothing: none went
                    }
                    start = j;
                }
                i = j;
            }
            if (start < n) {
                failed += raw.sendBatch(b, start, n);
            }
        } finally {
            b.clear();
        }
        return failed;
    }

    /**
     * Parses and places one packet and adds it, encapsulated, to the batch.
     *
     * @return the backend it goes to, or null if it was dropped (counted)
     */
    private BackendRuntime forward(MemorySegment buf, MemorySegment fromUdp, MemorySegment inner, int n,
                                   PacketParser parser, SendBatch batch4, SendBatch batch6) {
        counters.received.increment();
        PacketParser.Verdict verdict = parser.parse(inner, n);
        switch (verdict) {
            case OK -> { }
            case ICMP_ERROR -> counters.icmpErrors.increment();
            case IP_OPTIONS -> counters.ipOptions.increment();
            case FRAGMENT -> {
                counters.fragments.increment();
                return null;
            }
            case UNSUPPORTED -> {
                counters.unsupported.increment();
                return null;
            }
            default -> {
                counters.malformed.increment();
                return null;
            }
        }
        if (parser.protocol() != protocol || vipPort != 0 && parser.dstPort() != vipPort) {
            counters.unsupported.increment();   // not this VIP's service
            return null;
        }
        long hash = parser.flowHash(seed);
        RoutingSnapshot s = pool.get().snapshot();
        long probe = steering == null ? -1 : steering.probeFor(parser.srcHi(), parser.srcLo(), parser.srcPort());
        int idx;
        if (probe >= 0) {
            idx = s.indexOfFlowId((int) probe);          // a health probe: to its backend, up or down, unrecorded
            idx = idx < 0 ? MaglevTable.NO_BACKEND : idx;
            counters.probes.increment();
        } else {
            idx = place(s, hash, parser, verdict == PacketParser.Verdict.ICMP_ERROR);
        }
        if (idx == MaglevTable.NO_BACKEND) {
            counters.noBackend.increment();
            return null;
        }
        BackendRuntime b = s.backendAt(idx);
        boolean v6 = b.isIpv6();
        int overhead = v6 ? encap.overhead6() : encap.overhead();
        if (n + overhead > mtu) {
            counters.tooBig.increment();
            tooBig(inner, n, parser, overhead);
            return null;
        }
        forwardedHash = hash;
        return encapsulate(b, hash, buf, fromUdp, n, batch4, batch6) ? b : null;
    }

    /**
     * Puts the encapsulation in front of the packet in {@code buf} and adds it to the batch for {@code b}.
     *
     * @return false if the node cannot reach the backend's address family (counted)
     */
    private boolean encapsulate(BackendRuntime b, long hash, MemorySegment buf, MemorySegment fromUdp, int n,
                                SendBatch batch4, SendBatch batch6) {
        // room is guaranteed: both batches are flushed when together they fill the buffers
        if (!b.isIpv6() && b.ipv4() != 0) {
            batch4.add(buf, encap.encapsulate(buf, n, b.ipv4(), hash), b.ipv4());
        } else if (b.isIpv6() && raw6 != null) {
            batch6.add(fromUdp, encap.encapsulate6(fromUdp, n, hash), b.ipv6Hi(), b.ipv6Lo());
        } else {
            counters.unsupported.increment();   // no IPv6 on this host, or an address the node could not resolve
            return false;
        }
        batchBytes += n;
        return true;
    }

    /**
     * The backend index for this packet's flow, or {@link MaglevTable#NO_BACKEND}: {@link Placement} decides from
     * what this thread's table and the replica hold; this method records the decision (and sends it to the peers).
     */
    private int place(RoutingSnapshot s, long hash, PacketParser parser, boolean icmpError) {
        long hi = parser.srcHi();
        long lo = parser.srcLo();
        int ports = FlowTable.ports(parser.srcPort(), parser.dstPort());
        int now = nowSeconds;
        long slot = table.find(hi, lo, ports);
        if (slot >= 0 && table.isExpired(slot, now)) {
            table.remove(slot);
            slot = -1;
        }
        // an ended connection's record (rare) asks the replica too: the ports may carry a new connection now
        boolean localEnded = slot >= 0 && table.state(slot) == FlowTable.CLOSING;
        boolean inReplica = (slot < 0 || localEnded) && replica != null
            && replica.read(hi, lo, ports, now, replicaRead);
        int speaker = Placement.speaker(slot >= 0, localEnded, slot >= 0 ? table.version(slot) : 0, inReplica,
            inReplica && replicaRead[2] == FlowTable.CLOSING, replicaRead[1], !icmpError && parser.isSyn());
        if (slot >= 0 && speaker != Placement.SPEAKER_LOCAL) {
            table.remove(slot);     // an ended connection's record: the new connection gets its own
            slot = -1;
        }
        long recorded = slot >= 0 ? Placement.known(table.backendId(slot)) : Placement.UNKNOWN;
        long replicaKnows = speaker == Placement.SPEAKER_REPLICA ? Placement.known((int) replicaRead[0])
            : Placement.UNKNOWN;
        long placed = Placement.place(s, hash, recorded, replicaKnows);
        int idx = Placement.index(placed);
        switch (Placement.outcome(placed)) {
            case Placement.KEPT -> {
                int old = table.state(slot);
                int state = icmpError ? old : nextState(old, parser);
                table.touch(slot, now, state);
                if (state != old) {
                    send(hi, lo, ports, table.backendId(slot), table.version(slot), state);
                }
                return idx;
            }
            case Placement.ADOPTED -> {
                int state = icmpError ? (int) replicaRead[2] : nextState((int) replicaRead[2], parser);
                if (table.insert(hi, lo, ports, (int) replicaRead[0], replicaRead[1], state, now) < 0) {
                    counters.tableFull.increment();
                }
                counters.flowsAdopted.increment();
                return idx;
            }
            case Placement.REHASHED_REMOVED, Placement.REHASHED_DOWN -> {
                (Placement.outcome(placed) == Placement.REHASHED_REMOVED ? counters.rehashedRemoved
                    : counters.rehashedDown).increment();
                if (slot >= 0) {
                    if (idx != MaglevTable.NO_BACKEND) {
                        int state = icmpError ? table.state(slot) : nextState(table.state(slot), parser);
                        s.backendAt(idx).recordFlow();
                        int backend = s.backendAt(idx).flowId();
                        long version = FlowTable.versionNow();
                        table.update(slot, backend, version, state, now);
                        send(hi, lo, ports, backend, version, state);
                    }
                    return idx;
                }
                // the replica's backend is gone: a new decision (the peers learn it from this node)
            }
            default -> {
                if (protocol == io.l4mesh.hashring.FlowHash.PROTO_TCP && !icmpError && !parser.isSyn()) {
                    counters.nonSynMisses.increment();
                }
            }
        }
        if (idx == MaglevTable.NO_BACKEND || icmpError) {
            return idx;        // an ICMP error follows its flow; it starts none
        }
        BackendRuntime b = s.backendAt(idx);
        int state = nextState(FlowTable.EMPTY, parser);
        long version = FlowTable.versionNow();
        if (table.insert(hi, lo, ports, b.flowId(), version, state, now) < 0) {
            counters.tableFull.increment();
        }
        counters.flowsCreated.increment();
        b.recordFlow();     // l4mesh_backend_connections_total: new flows placed on this backend, in both planes
        send(hi, lo, ports, b.flowId(), version, state);
        return idx;
    }

    /** A TCP flow's state after this packet (client to server only: DSR never sees the replies); UDP: established. */
    private int nextState(int current, PacketParser parser) {
        if (protocol != io.l4mesh.hashring.FlowHash.PROTO_TCP) {
            return FlowTable.ESTABLISHED;
        }
        int flags = parser.tcpFlags();
        if ((flags & (TCP_FIN | TCP_RST)) != 0) {
            return FlowTable.CLOSING;
        }
        if ((flags & (TCP_SYN | TCP_ACK)) == TCP_SYN) {
            return FlowTable.SYN_SEEN;
        }
        return current == FlowTable.SYN_SEEN || current == FlowTable.EMPTY ? FlowTable.ESTABLISHED : current;
    }

    private static final int TCP_FIN = 0x01;
    private static final int TCP_SYN = 0x02;
    private static final int TCP_RST = 0x04;
    private static final int TCP_ACK = 0x10;

    private void send(long hi, long lo, int ports, int backend, long version, int state) {
        if (outbox != null && !outbox.offer(hi, lo, ports, backend, version, state)) {
            sync.outboxFull();
        }
    }

    /**
     * Every 10 ms: takes the peers' newer decisions for flows this thread holds, and expires a slice of the table,
     * paced to pass the whole table once per refresh period (re-announcing active flows).
     */
    private void sweep() {
        long elapsed = nowNanos - lastSweepNanos;
        if (elapsed < 10_000_000) {
            return;
        }
        lastSweepNanos = nowNanos;
        if (inbox != null) {
            int n;
            while ((n = inbox.poll(inboxBuf, 64)) > 0) {
                for (int i = 0; i < n; i++) {
                    int at = i * 4;
                    long w2 = inboxBuf[at + 2];
                    long vs = inboxBuf[at + 3];
                    long slot = table.find(inboxBuf[at], inboxBuf[at + 1], FlowEntry.ports(w2));
                    long version = FlowEntry.version(vs);
                    if (slot >= 0 && version > table.version(slot)) {
                        table.update(slot, FlowEntry.backend(w2), version, FlowEntry.state(vs) & 3, nowSeconds);
                    }
                }
            }
        }
        long budget = table.capacity() * elapsed / sweepPeriodNanos + 1;
        table.sweep(nowSeconds, budget, refresh);
    }

    /**
     * Answers a packet that no longer fits the fabric: IPv4 with don't-fragment gets ICMP "fragmentation needed"
     * (sent by the raw socket), IPv6 gets ICMPv6 "packet too big" (written into the TUN device, which hands it to the
     * kernel to route back to the client). At most one per millisecond per thread.
     */
    private void tooBig(MemorySegment inner, int n, PacketParser parser, int overhead) {
        long now = nowNanos;
        if (now - lastIcmpNanos < 1_000_000) {
            return;
        }
        try {
            if (parser.version() == 6) {
                lastIcmpNanos = now;
                tun.write(icmp, IcmpWriter.packetTooBig(icmp, inner, n, mtu - overhead));
                counters.icmpSent.increment();
            } else if (IcmpWriter.dontFragment(inner)) {
                lastIcmpNanos = now;
                int len = IcmpWriter.fragmentationNeeded(icmp, inner, mtu - overhead);
                raw.send(icmp, len, IcmpWriter.source(inner));
                counters.icmpSent.increment();
            }
        } catch (IOException e) {
            counters.sendErrors.increment();
        }
    }

    public void stop() {
        running = false;
    }
}
