package io.l4mesh.node.flow;

import io.l4mesh.hashring.XxHash64;
import io.l4mesh.node.config.FlowSyncConfig;
import io.l4mesh.node.log.Log;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * Flow-table sync between the nodes of a mesh: full replication over UDP with NAK-based loss recovery, after
 * conntrackd's FTFW mode.
 *
 * <p>Every flow a packet thread creates or changes goes through its {@link Outbox} to this node's sync thread,
 * which adds it to the listener's replica and to the current datagram. A datagram goes to every live peer when it
 * holds {@link SyncCodec#MAX_DATAGRAM_ENTRIES} entries or its first entry is {@link #BATCH_NANOS} old, within
 * {@code maxBytesPerSecond} per peer. Datagrams carry a sequence number per sender and process start (epoch); the
 * last {@link #RING} are kept for retransmission. A receiver that sees a gap (or a heartbeat naming a sequence it
 * lacks) sends a NAK; when the sender no longer holds what was asked it answers GONE and the receiver pulls a
 * snapshot from it over TCP on the same port. A starting node pulls a snapshot from a peer before its packet
 * listeners announce their VIPs.
 *
 * <p>Received entries go into the replica by last-writer-wins on the decision's version, so an older entry never
 * replaces a newer decision; messages that fail the MAC, the format or the freshness window (30 s) are dropped
 * and counted.
 *
 * <p>This class is the datagram transport (batching, rate limit, sequence numbers, the retransmission ring, NAK and
 * GONE, heartbeats) and the face the node uses. The replicas and the rule that applies a received entry are in
 * {@link FlowReplicas}; snapshots over TCP are {@link SnapshotService}'s; the entry layout is {@link FlowEntry}'s.
 *
 * <p>Threading: one sync thread owns the socket, the retransmission ring, every receiver's state and the replicas'
 * contents; snapshots are served and pulled on virtual threads that read replicas through their sequence lock and
 * hand pulled entries to the sync thread through {@link FlowReplicas#queue}.
 */
public final class FlowSync implements AutoCloseable {
    /** Flag in an outbox entry's state: a refresh of a live flow, not a new decision (no lag sample). */
    public static final int REFRESH = SyncCodec.NOT_FRESH;
    static final long BATCH_NANOS = 1_000_000;
    static final int RING = 4096;
    /** Sequence window a receiver tracks; a gap wider than this is resolved by a snapshot. */
    static final int WINDOW = 1024;
    static final long HEARTBEAT_NANOS = 100_000_000;
    static final long NAK_RETRY_NANOS = 20_000_000;
    static final long FRESH_MS = 30_000;
    static final long RESYNC_BACKOFF_NANOS = 5_000_000_000L;
    private static final Logger LOG = Log.logger(FlowSync.class);

    private final String nodeId;
    private final long sender;
    private final long epoch;
    private final FlowSyncConfig config;
    private final byte[] clusterKey;
    private final Supplier<List<InetSocketAddress>> peerSource;
    /**
     * The sync thread's clock: batching, the rate limit, heartbeats, NAK retries, resync backoff and replica sweeps
     * read it ({@link System#nanoTime} but in tests, which step it). Waits on sockets and peers use real time.
     */
    private final LongSupplier nanoClock;
    private final FlowSyncStats stats = new FlowSyncStats();
    private final DatagramChannel udp;
    private final ServerSocketChannel tcp;
    private final Selector selector;
    private final Thread thread;
    private final FlowReplicas replicas;
    private final SnapshotService snapshots;
    private volatile boolean running = true;
    /** Fault seam (tests, chaos): DATA datagrams whose sequence number it accepts are not sent the first time. */
    private volatile java.util.function.LongPredicate dropOutgoing = seq -> false;

    // ---- sync thread only
    private final SyncCodec codec;
    private final ByteBuffer out = ByteBuffer.allocate(SyncCodec.MAX_DATAGRAM);
    private final ByteBuffer in = ByteBuffer.allocate(SyncCodec.MAX_DATAGRAM + 1);
    private final ByteBuffer control = ByteBuffer.allocate(SyncCodec.HEADER + SyncCodec.MAC);
    private final byte[] ring = new byte[RING * SyncCodec.MAX_DATAGRAM];
    private final int[] ringLength = new int[RING];
    private final long[] ringSeq = new long[RING];
    private final long[] drain = new long[4 * SyncCodec.MAX_DATAGRAM_ENTRIES];
    private final Map<Long, Peer> senders = new HashMap<>();
    /** The peers this node sends to (sync thread writes; {@link #pullFromAnyPeer} reads). */
    private volatile List<InetSocketAddress> peers = List.of();
    /** Every address a datagram or heartbeat came from: those peers stream to this node. */
    private final java.util.Set<InetSocketAddress> heardFrom = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private long nextSeq = 1;
    private int batchCount;
    private long batchStartNanos;
    private double tokens;
    private long tokensAtNanos;
    private long lastHeartbeatNanos;
    private long lastPeersNanos;

    /** What this node knows about one sender's stream. */
    private static final class Peer {
        long epoch;
        /** Lowest sequence not yet received. */
        long next = -1;
        final long[] window = new long[WINDOW / 64];
        long nakFrom = -1;
        long nakTo = -1;
        long lastNakNanos;
        long lastResyncNanos;
        InetSocketAddress address;
    }

    /**
     * Opens the UDP and TCP sockets on {@code bind} and starts the sync thread.
     *
     * @param peers the other live members' sync addresses (called every 100 ms on the sync thread)
     */
    public FlowSync(String nodeId, InetSocketAddress bind, byte[] clusterKey, FlowSyncConfig config,
                    Supplier<List<InetSocketAddress>> peers) throws IOException {
        this(nodeId, bind, clusterKey, config, peers, System::nanoTime);
    }

    /** The same, on the clock the sync thread's timers read. */
    public FlowSync(String nodeId, InetSocketAddress bind, byte[] clusterKey, FlowSyncConfig config,
                    Supplier<List<InetSocketAddress>> peers, LongSupplier nanoClock) throws IOException {
        this.nodeId = nodeId;
        this.sender = XxHash64.hash(nodeId, 0);
        this.epoch = new SecureRandom().nextLong();
        this.config = config;
        this.clusterKey = clusterKey.clone();
        this.codec = new SyncCodec(this.clusterKey);
        this.peerSource = peers;
        this.nanoClock = nanoClock;
        this.tokensAtNanos = nanoClock.getAsLong();
        this.replicas = new FlowReplicas(stats, tokensAtNanos);
        this.snapshots = new SnapshotService(this.clusterKey, sender, epoch, replicas, stats);
        this.tokens = config.maxBytesPerSecond() / 10.0;
        this.selector = Selector.open();
        DatagramChannel u = null;
        ServerSocketChannel t = null;
        // port 0 (tests): the UDP port the kernel picks may be taken for TCP; pick again a few times
        int attempts = bind.getPort() == 0 ? 20 : 1;
        for (int attempt = 1; ; attempt++) {
            try {
                u = DatagramChannel.open();
                u.setOption(StandardSocketOptions.SO_RCVBUF, 4 << 20);
                u.setOption(StandardSocketOptions.SO_SNDBUF, 4 << 20);
                u.bind(bind);
                t = ServerSocketChannel.open();
                t.setOption(StandardSocketOptions.SO_REUSEADDR, true);
                t.bind(new InetSocketAddress(bind.getAddress(), u.socket().getLocalPort()));
                u.configureBlocking(false);
                u.register(selector, SelectionKey.OP_READ);
                t.configureBlocking(false);
                t.register(selector, SelectionKey.OP_ACCEPT);
                break;
            } catch (IOException e) {
                if (u != null) {
                    u.close();
                }
                if (t != null) {
                    t.close();
                }
                if (attempt >= attempts) {
                    selector.close();
                    throw new IOException("flow sync cannot bind " + bind + ": " + e.getMessage(), e);
                }
                u = null;
                t = null;
            }
        }
        this.udp = u;
        this.tcp = t;
        this.thread = Thread.ofPlatform().name("l4mesh-flow-sync").daemon().start(this::loop);
        Log.info(LOG, "flowsync.started", "node", nodeId, "bind", bound(), "epoch", Long.toHexString(epoch));
    }

    public InetSocketAddress bound() {
        return (InetSocketAddress) udp.socket().getLocalSocketAddress();
    }

    /** The peers the sync thread sends to now (it refreshes them from the peer source every 100 ms). */
    public List<InetSocketAddress> sendingTo() {
        return peers;
    }

    public FlowSyncStats stats() {
        return stats;
    }

    /**
     * Registers a packet listener: its replica (shared, sized like its flow table) and one outbox per packet thread.
     * Control thread.
     */
    public ListenerFlows register(String name, long maxEntries, int[] timeouts, int threads) {
        return replicas.register(name, maxEntries, timeouts, threads);
    }

    /** Stops syncing a listener (its packet threads have stopped); the sync thread frees its replica. */
    public void retire(ListenerFlows lf) {
        replicas.retire(lf);
    }

    // ---------------------------------------------------------------- sync thread

    private void loop() {
        while (running) {
            try {
                selector.select(1);
                long now = nanoClock.getAsLong();
                for (SelectionKey k : selector.selectedKeys()) {
                    if (k.isValid() && k.isAcceptable()) {
                        snapshots.accept(tcp);
                    }
                }
                selector.selectedKeys().clear();
                receive(now);
                replicas.applyQueued();
                send(now);
                housekeeping(now);
            } catch (Throwable t) {
                if (running) {
                    Log.warn(LOG, "flowsync.error", "error", t.toString());
                }
            }
        }
        replicas.close();
    }

    private void send(long now) throws IOException {
        refill(now);
        for (ListenerFlows lf : replicas.all()) {
            if (lf.retired) {
                continue;
            }
            for (Outbox o : lf.outboxes) {
                while (tokens > 0) {
                    int room = SyncCodec.MAX_DATAGRAM_ENTRIES - batchCount;
                    int n = o.poll(drain, room);
                    if (n == 0) {
                        break;
                    }
                    int sec = FlowClock.seconds();
                    for (int i = 0; i < n; i++) {
                        add(lf, drain[i * 4], drain[i * 4 + 1], drain[i * 4 + 2], drain[i * 4 + 3], sec, now);
                    }
                }
            }
        }
        if (batchCount > 0 && now - batchStartNanos >= BATCH_NANOS) {
            flush();
        }
    }

    private void add(ListenerFlows lf, long hi, long lo, long w2, long versionState, int sec, long now)
        throws IOException {
        int ports = FlowEntry.ports(w2);
        int backend = FlowEntry.backend(w2);
        long version = FlowEntry.version(versionState);
        int state = FlowEntry.state(versionState);
        lf.replica.upsert(hi, lo, ports, backend, version, state & 3, sec);
        if (batchCount == 0) {
            SyncCodec.header(out, SyncCodec.DATA, sender, epoch, nextSeq, 0, System.currentTimeMillis());
            batchStartNanos = now;
        }
        SyncCodec.entry(out, lf.id, hi, lo, ports, backend, version, state);
        batchCount++;
        if (batchCount == SyncCodec.MAX_DATAGRAM_ENTRIES) {
            flush();
        }
    }

    private void flush() throws IOException {
        codec.seal(out);
        int slot = (int) (nextSeq % RING);
        int len = out.remaining();
        System.arraycopy(out.array(), 0, ring, slot * SyncCodec.MAX_DATAGRAM, len);
        ringLength[slot] = len;
        ringSeq[slot] = nextSeq;
        nextSeq++;
        stats.entriesOut.add(batchCount);
        batchCount = 0;
        if (dropOutgoing.test(nextSeq - 1)) {
            stats.droppedFault.increment();
            return;     // lost on the way (fault injection): the receivers' NAKs recover it from the ring
        }
        for (InetSocketAddress p : peers) {
            out.rewind();
            udp.send(out, p);
            stats.datagramsOut.increment();
            tokens -= len;
        }
    }

    private void refill(long now) {
        double rate = config.maxBytesPerSecond();
        tokens = Math.min(rate / 10.0, tokens + (now - tokensAtNanos) * rate / 1e9);
        tokensAtNanos = now;
    }

    private void housekeeping(long now) throws IOException {
        if (now - lastPeersNanos >= HEARTBEAT_NANOS) {
            lastPeersNanos = now;
            peers = List.copyOf(peerSource.get());
        }
        if (now - lastHeartbeatNanos >= HEARTBEAT_NANOS) {
            lastHeartbeatNanos = now;
            sendControl(SyncCodec.HEARTBEAT, epoch, nextSeq - 1, 0, null);
        }
        for (Peer p : senders.values()) {
            if (p.nakFrom >= 0 && now - p.lastNakNanos >= NAK_RETRY_NANOS) {
                nak(p, now);
            }
        }
        replicas.sweep(now);
    }

    /** Sends a control message (heartbeat to every peer, or NAK/GONE to one). */
    private void sendControl(int type, long epochField, long seq, long aux, InetSocketAddress to) throws IOException {
        SyncCodec.header(control, type, sender, epochField, seq, aux, System.currentTimeMillis());
        codec.seal(control);
        if (to != null) {
            udp.send(control, to);
            return;
        }
        for (InetSocketAddress p : peers) {
            control.rewind();
            udp.send(control, p);
        }
    }

    private void receive(long now) throws IOException {
        while (true) {
            in.clear();
            InetSocketAddress from = (InetSocketAddress) udp.receive(in);
            if (from == null) {
                return;
            }
            in.flip();
            if (in.limit() > SyncCodec.MAX_DATAGRAM) {
                stats.droppedMalformed.increment();
                continue;
            }
            String bad = codec.check(in);
            if (bad != null) {
                (bad.equals("auth") ? stats.droppedAuth : stats.droppedMalformed).increment();
                continue;
            }
            long from64 = SyncCodec.sender(in);
            if (from64 == sender) {
                continue;
            }
            if (Math.abs(System.currentTimeMillis() - SyncCodec.sentAt(in)) > FRESH_MS) {
                stats.droppedStale.increment();
                continue;
            }
            stats.datagramsIn.increment();
            switch (SyncCodec.type(in)) {
                case SyncCodec.DATA -> data(from, from64, now);
                case SyncCodec.HEARTBEAT -> heartbeat(from, from64, now);
                case SyncCodec.NAK -> resend(from, SyncCodec.epoch(in), SyncCodec.seq(in), SyncCodec.aux(in));
                case SyncCodec.GONE -> gone(from, from64, now);
                default -> stats.droppedMalformed.increment();
            }
        }
    }

    private Peer peer(InetSocketAddress from, long id, long peerEpoch, long seq) {
        Peer p = senders.get(id);
        if (p == null || p.epoch != peerEpoch) {
            p = new Peer();
            p.epoch = peerEpoch;
            p.next = seq;          // a new stream: what came before is in the snapshots pulled once it streamed here
            senders.put(id, p);
        }
        p.address = from;
        if (!heardFrom.contains(from)) {
            heardFrom.add(from);
        }
        return p;
    }

    private void data(InetSocketAddress from, long id, long now) {
        long seq = SyncCodec.seq(in);
        Peer p = peer(from, id, SyncCodec.epoch(in), seq);
        if (seq < p.next || seq < p.next + WINDOW && received(p, seq)) {
            stats.entriesStale.add(SyncCodec.count(in));
            return;    // a duplicate (a retransmission we no longer needed)
        }
        replicas.apply(in, false);
        if (seq >= p.next + WINDOW) {
            // too far ahead to track: what is missing is recovered by a snapshot
            long missing = seq - p.next;
            stats.lost.add(missing);
            Arrays.fill(p.window, 0);
            p.next = seq + 1;
            p.nakFrom = -1;
            resync(p, now);
            return;
        }
        mark(p, seq);
        while (received(p, p.next)) {
            clear(p, p.next);
            p.next++;
        }
        if (p.nakFrom >= 0 && p.next > p.nakTo) {
            p.nakFrom = -1;
        }
        if (seq > p.next) {             // a gap before this one
            if (p.nakFrom < 0) {
                p.nakFrom = p.next;
                p.nakTo = seq - 1;
                nak(p, now);
            } else {
                p.nakTo = Math.max(p.nakTo, seq - 1);
            }
        }
    }

    private void heartbeat(InetSocketAddress from, long id, long now) {
        long last = SyncCodec.seq(in);
        Peer p = peer(from, id, SyncCodec.epoch(in), last + 1);
        if (last >= p.next && p.nakFrom < 0) {
            p.nakFrom = p.next;
            p.nakTo = last;
            nak(p, now);
        }
    }

    private void nak(Peer p, long now) {
        while (p.nakFrom <= p.nakTo && p.nakFrom < p.next + WINDOW && received(p, p.nakFrom)) {
            p.nakFrom++;
        }
        if (p.nakFrom < p.next) {
            p.nakFrom = p.next;
        }
        if (p.nakFrom > p.nakTo) {
            p.nakFrom = -1;
            return;
        }
        p.lastNakNanos = now;
        stats.naks.increment();
        try {
            sendControl(SyncCodec.NAK, p.epoch, p.nakFrom, p.nakTo, p.address);
        } catch (IOException e) {
            Log.debug(LOG, "flowsync.nak_failed", "peer", p.address, "error", e.getMessage());
        }
    }

    private void resend(InetSocketAddress to, long forEpoch, long from, long until) throws IOException {
        if (forEpoch != epoch || until < from) {
            return;
        }
        until = Math.min(until, nextSeq - 1);
        from = Math.max(from, 1);
        long oldest = Math.max(1, nextSeq - RING);
        if (from < oldest) {
            sendControl(SyncCodec.GONE, epoch, oldest, 0, to);
            from = oldest;
        }
        for (long s = from; s <= until && s - from < 256; s++) {
            int slot = (int) (s % RING);
            if (ringSeq[slot] != s) {
                continue;
            }
            udp.send(ByteBuffer.wrap(ring, slot * SyncCodec.MAX_DATAGRAM, ringLength[slot]), to);
            stats.retransmits.increment();
        }
    }

    private void gone(InetSocketAddress from, long id, long now) {
        Peer p = senders.get(id);
        if (p == null || p.epoch != SyncCodec.epoch(in)) {
            return;
        }
        long oldest = SyncCodec.seq(in);
        if (oldest > p.next) {
            stats.lost.add(oldest - p.next);
            for (long s = p.next; s < oldest && s < p.next + WINDOW; s++) {
                clear(p, s);
            }
            p.next = oldest;
            while (received(p, p.next)) {
                clear(p, p.next);
                p.next++;
            }
            resync(p, now);
        }
    }

    private void resync(Peer p, long now) {
        if (now - p.lastResyncNanos < RESYNC_BACKOFF_NANOS || p.address == null) {
            return;
        }
        p.lastResyncNanos = now;
        InetSocketAddress target = p.address;
        Thread.ofVirtual().name("l4mesh-flow-resync").start(() -> {
            try {
                pull(target, Math.max(1000, config.snapshotTimeout().toMillis()));
            } catch (IOException e) {
                Log.warn(LOG, "flowsync.resync_failed", "peer", target, "error", e.getMessage());
            }
        });
    }

    private boolean received(Peer p, long seq) {
        int bit = (int) (seq % WINDOW);
        return (p.window[bit >>> 6] & 1L << bit) != 0;
    }

    private void mark(Peer p, long seq) {
        int bit = (int) (seq % WINDOW);
        p.window[bit >>> 6] |= 1L << bit;
    }

    private void clear(Peer p, long seq) {
        int bit = (int) (seq % WINDOW);
        p.window[bit >>> 6] &= ~(1L << bit);
    }

    /**
     * Pulls a snapshot of every flow a peer knows and waits until the sync thread has applied it. Any thread.
     *
     * @return entries received
     */
    public long pull(InetSocketAddress peer, long timeoutMs) throws IOException {
        return snapshots.pull(peer, timeoutMs, () -> running);
    }

    /**
     * Pulls every live peer's flows before this node serves: it waits (up to the configured time) until each peer
     * streams to it (a heartbeat or datagram came from it) and it streams to each, then pulls a snapshot from each.
     * So every flow is either in a snapshot (it existed when the peer answered) or arrives in a stream that already
     * includes this node: no flow created while a peer had not yet learnt of this node is missed. A snapshot from
     * only the first peer, taken before the others streamed here, missed such flows (a flow created on node A just
     * after node B joined, before A sent to B, was unknown to B when A died). Returns normally when there is nobody
     * to pull from (a lone or first node).
     *
     * @param expectPeers wait for peers to appear (seeds are configured)
     * @return whether at least one snapshot was applied
     */
    public boolean pullFromAnyPeer(boolean expectPeers) {
        long deadline = System.nanoTime() + config.snapshotTimeout().toNanos();
        List<InetSocketAddress> ps = peerSource.get();
        while (running && System.nanoTime() < deadline) {
            ps = peerSource.get();
            if (ps.isEmpty() && !expectPeers) {
                return false;
            }
            if (!ps.isEmpty() && heardFrom.containsAll(ps) && peers.containsAll(ps)) {
                break;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        if (!ps.isEmpty() && !(heardFrom.containsAll(ps) && peers.containsAll(ps))) {
            Log.warn(LOG, "flowsync.peers_not_streaming", "peers", ps, "detail", "not every peer streams to this "
                + "node after " + config.snapshotTimeout() + "; pulling what they have");
        }
        int pulled = 0;
        for (InetSocketAddress p : ps) {
            long left = Math.max(1000, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
            try {
                pull(p, left);
                pulled++;
            } catch (IOException e) {
                Log.warn(LOG, "flowsync.snapshot_failed", "peer", p, "error", e.getMessage());
            }
        }
        return pulled > 0;
    }

    /** Fault seam: DATA datagrams whose sequence number {@code p} accepts are dropped on first sending. */
    public void dropOutgoing(java.util.function.LongPredicate p) {
        this.dropOutgoing = p;
    }

    /** Where snapshot spans go (served and pulled). Any thread, before the first snapshot. */
    public void telemetry(io.l4mesh.node.telemetry.Telemetry t) {
        snapshots.telemetry = t;
    }

    @Override
    public void close() {
        running = false;
        selector.wakeup();
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            udp.close();
            tcp.close();
            selector.close();
        } catch (IOException e) {
            Log.debug(LOG, "flowsync.close_failed", "error", e.getMessage());
        }
    }
}
