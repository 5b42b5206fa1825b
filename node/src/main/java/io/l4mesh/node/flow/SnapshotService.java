package io.l4mesh.node.flow;

import io.l4mesh.node.log.Log;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.logging.Logger;

/**
 * Flow snapshots over TCP on the sync port: serves every replica this node holds to a peer that asks, and pulls a
 * peer's. A request is a sealed {@link SyncCodec#SNAPSHOT_REQUEST}; the answer is a stream of sealed
 * {@link SyncCodec#SNAPSHOT_DATA} frames, each behind its length, and a {@link SyncCodec#SNAPSHOT_END} that names
 * how many entries were sent, so a cut stream is never taken for a whole one.
 *
 * <p>Threading: each served connection and each pull runs on its own (virtual) thread with its own codec and
 * buffers; replicas are read through their sequence lock, and pulled frames go to the sync thread through
 * {@link FlowReplicas#queue}.
 */
final class SnapshotService {
    private static final Logger LOG = Log.logger(SnapshotService.class);
    private static final int CHUNK = 1024;

    private final byte[] clusterKey;
    private final long sender;
    private final long epoch;
    private final FlowReplicas replicas;
    private final FlowSyncStats stats;
    /** Spans for snapshots served and pulled (off unless configured). */
    volatile io.l4mesh.node.telemetry.Telemetry telemetry = io.l4mesh.node.telemetry.Telemetry.off("");

    SnapshotService(byte[] clusterKey, long sender, long epoch, FlowReplicas replicas, FlowSyncStats stats) {
        this.clusterKey = clusterKey;
        this.sender = sender;
        this.epoch = epoch;
        this.replicas = replicas;
        this.stats = stats;
    }

    /** Takes every pending connection and serves each on a virtual thread. Sync thread. */
    void accept(ServerSocketChannel tcp) throws IOException {
        SocketChannel c;
        while ((c = tcp.accept()) != null) {
            SocketChannel conn = c;
            Thread.ofVirtual().name("l4mesh-flow-snapshot").start(() -> serve(conn));
        }
    }

    /** Serves one snapshot: checks the request, then streams every listener's replica in frames. */
    private void serve(SocketChannel c) {
        long started = System.nanoTime();
        try (c) {
            c.configureBlocking(true);
            c.socket().setSoTimeout(5000);
            SyncCodec codec = new SyncCodec(clusterKey);
            ByteBuffer frame = ByteBuffer.allocate(SyncCodec.MAX_FRAME);
            readFrame(c, frame);
            if (codec.check(frame) != null || SyncCodec.type(frame) != SyncCodec.SNAPSHOT_REQUEST
                || Math.abs(System.currentTimeMillis() - SyncCodec.sentAt(frame)) > FlowSync.FRESH_MS) {
                stats.droppedAuth.increment();
                return;
            }
            int sec = FlowClock.seconds();
            long[] buf = new long[8 * CHUNK];
            long sent = 0;
            for (ListenerFlows lf : replicas.all()) {
                if (lf.retired) {
                    continue;
                }
                SyncCodec.header(frame, SyncCodec.SNAPSHOT_DATA, sender, epoch, 0, 0, System.currentTimeMillis());
                for (long from = 0; from < lf.replica.capacity(); from += CHUNK) {
                    int n = lf.replica.readRange(from, CHUNK, sec, buf);
                    for (int i = 0; i < n; i++) {
                        int at = 4 * CHUNK + i * 4;
                        long w2 = buf[at + 2];
                        long w3 = buf[at + 3];
                        SyncCodec.entry(frame, lf.id, buf[at], buf[at + 1], FlowEntry.ports(w2),
                            FlowEntry.backend(w2), FlowTable.versionOf(w3),
                            FlowTable.stateOfWord(w3) | SyncCodec.NOT_FRESH);
                        sent++;
                        if (SyncCodec.count(frame) == SyncCodec.MAX_FRAME_ENTRIES) {
                            writeFrame(c, codec, frame);
                            SyncCodec.header(frame, SyncCodec.SNAPSHOT_DATA, sender, epoch, 0, 0,
                                System.currentTimeMillis());
                        }
                    }
                }
                if (SyncCodec.count(frame) > 0) {
                    writeFrame(c, codec, frame);
                }
            }
            SyncCodec.header(frame, SyncCodec.SNAPSHOT_END, sender, epoch, sent, 0, System.currentTimeMillis());
            writeFrame(c, codec, frame);
            stats.snapshotsServed.increment();
            Log.info(LOG, "flowsync.snapshot_served", "peer", c.getRemoteAddress(), "entries", sent);
            telemetry.took("flow.snapshot.served", System.nanoTime() - started, io.l4mesh.node.telemetry.Telemetry.PEER,
                String.valueOf(c.getRemoteAddress()), io.l4mesh.node.telemetry.Telemetry.COUNT, sent);
        } catch (IOException | RuntimeException e) {
            Log.debug(LOG, "flowsync.snapshot_serve_failed", "error", e.toString());
        }
    }

    /**
     * Pulls a snapshot of every flow a peer knows and waits until the sync thread has applied it. Any thread.
     *
     * @param running false once flow sync is closing (the wait for the sync thread gives up)
     * @return entries received
     */
    long pull(InetSocketAddress peer, long timeoutMs, BooleanSupplier running) throws IOException {
        return telemetry.around("flow.snapshot.pull", () -> pullNow(peer, timeoutMs, running),
            io.l4mesh.node.telemetry.Telemetry.PEER, peer.toString());
    }

    private long pullNow(InetSocketAddress peer, long timeoutMs, BooleanSupplier running) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        SyncCodec codec = new SyncCodec(clusterKey);
        ByteBuffer frame = ByteBuffer.allocate(SyncCodec.MAX_FRAME);
        long received = 0;
        long ticket = 0;
        try (SocketChannel c = SocketChannel.open()) {
            c.socket().connect(peer, (int) Math.max(1, timeoutMs));
            c.socket().setSoTimeout((int) Math.max(1, timeoutMs));
            SyncCodec.header(frame, SyncCodec.SNAPSHOT_REQUEST, sender, epoch, 0, 0, System.currentTimeMillis());
            writeFrame(c, codec, frame);
            while (true) {
                if (System.nanoTime() > deadline) {
                    throw new IOException("snapshot from " + peer + " took longer than " + timeoutMs + " ms");
                }
                readFrame(c, frame);
                String bad = codec.check(frame);
                if (bad != null) {
                    (bad.equals("auth") ? stats.droppedAuth : stats.droppedMalformed).increment();
                    throw new IOException("snapshot from " + peer + " refused: " + bad);
                }
                if (SyncCodec.type(frame) == SyncCodec.SNAPSHOT_END) {
                    if (SyncCodec.seq(frame) != received) {
                        throw new IOException("snapshot from " + peer + " ended after " + received + " of "
                            + SyncCodec.seq(frame) + " entries");
                    }
                    break;
                }
                if (SyncCodec.type(frame) != SyncCodec.SNAPSHOT_DATA) {
                    throw new IOException("snapshot from " + peer + ": unexpected message type");
                }
                int n = SyncCodec.count(frame);
                // the sync thread owns the replicas: it applies a copy of the frame, as it applies datagrams
                ticket = replicas.queue(ByteBuffer.wrap(Arrays.copyOf(frame.array(), frame.limit())));
                received += n;
            }
        } catch (IOException e) {
            stats.snapshotsFailed.increment();
            throw e;
        }
        while (!replicas.applied(ticket)) {
            if (System.nanoTime() > deadline || !running.getAsBoolean()) {
                stats.snapshotsFailed.increment();
                throw new IOException("snapshot from " + peer + " not applied in " + timeoutMs + " ms");
            }
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted");
            }
        }
        stats.snapshotsPulled.increment();
        Log.info(LOG, "flowsync.snapshot_pulled", "peer", peer, "entries", received);
        telemetry.annotate(io.l4mesh.node.telemetry.Telemetry.COUNT, received);
        return received;
    }

    private static void writeFrame(SocketChannel c, SyncCodec codec, ByteBuffer frame) throws IOException {
        codec.seal(frame);
        ByteBuffer len = ByteBuffer.allocate(4).putInt(0, frame.remaining());
        while (len.hasRemaining()) {
            c.write(len);
        }
        while (frame.hasRemaining()) {
            c.write(frame);
        }
    }

    private static void readFrame(SocketChannel c, ByteBuffer frame) throws IOException {
        ByteBuffer len = ByteBuffer.allocate(4);
        readFully(c, len);
        int n = len.getInt(0);
        if (n < SyncCodec.HEADER + SyncCodec.MAC || n > frame.capacity()) {
            throw new IOException("bad frame length " + n);
        }
        frame.clear().limit(n);
        readFully(c, frame);
        frame.flip();
    }

    private static void readFully(SocketChannel c, ByteBuffer b) throws IOException {
        // blocking channel with a socket timeout: reads through the socket's stream honour it
        InputStream s = c.socket().getInputStream();
        while (b.hasRemaining()) {
            int n = s.read(b.array(), b.arrayOffset() + b.position(), b.remaining());
            if (n < 0) {
                throw new EOFException("snapshot peer closed the connection");
            }
            b.position(b.position() + n);
        }
    }
}
