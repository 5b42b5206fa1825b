package io.l4mesh.node.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.l4mesh.node.config.FlowSyncConfig;
import io.l4mesh.node.testing.Await;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Three sync endpoints on loopback, each with a static peer list: replication, loss recovery, bad input, snapshots. */
class FlowSyncTest {
    private static final byte[] KEY = "0123456789abcdef0123456789abcdef".getBytes();
    private static final int[] TIMEOUTS = {1, 30, 900, 60};
    private final List<AutoCloseable> closing = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : closing.reversed()) {
            c.close();
        }
    }

    private FlowSync start(String id, List<InetSocketAddress> peers) throws Exception {
        FlowSync s = new FlowSync(id, new InetSocketAddress("127.0.0.1", 0), KEY,
            new FlowSyncConfig(true, 0, 50_000_000, Duration.ofSeconds(3)), () -> peers);
        closing.add(s);
        return s;
    }

    private static io.opentelemetry.api.OpenTelemetry sdk(
        io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter spans) {
        return io.opentelemetry.sdk.OpenTelemetrySdk.builder().setTracerProvider(
            io.opentelemetry.sdk.trace.SdkTracerProvider.builder()
                .addSpanProcessor(io.opentelemetry.sdk.trace.export.SimpleSpanProcessor.create(spans)).build()).build();
    }

    private static boolean has(ListenerFlows lf, int i, int backend) {
        long[] out = new long[3];
        return lf.replica().read(0, 0xFFFF_0000_0000L | i, FlowTable.ports(i & 0xFFFF, 80), FlowClock.seconds(), out)
            && out[0] == backend;
    }

    /** Waits until {@code s}'s sync thread has picked up {@code peers} (instead of sleeping past its refresh). */
    private static void awaitSending(FlowSync s, InetSocketAddress... peers) {
        Await.until(Duration.ofSeconds(5), "sending to " + List.of(peers),
            () -> s.sendingTo().containsAll(List.of(peers)));
    }

    /** Offers flows from the outbox of thread 0, waiting when it is full. */
    private static void offer(ListenerFlows lf, int from, int to, int backend) throws InterruptedException {
        for (int i = from; i < to; i++) {
            while (!lf.outbox(0).offer(0, 0xFFFF_0000_0000L | i, FlowTable.ports(i & 0xFFFF, 80), backend,
                FlowTable.versionNow(), FlowTable.SYN_SEEN)) {
                Thread.sleep(1);
            }
        }
    }

    @Test
    void entriesReachEveryPeerAndLostDatagramsAreRecovered() throws Exception {
        List<InetSocketAddress> peersOfA = new CopyOnWriteArrayList<>();
        List<InetSocketAddress> peersOfB = new CopyOnWriteArrayList<>();
        List<InetSocketAddress> peersOfC = new CopyOnWriteArrayList<>();
        FlowSync a = start("a", peersOfA);
        FlowSync b = start("b", peersOfB);
        FlowSync c = start("c", peersOfC);
        peersOfA.addAll(List.of(b.bound(), c.bound()));
        peersOfB.addAll(List.of(a.bound(), c.bound()));
        peersOfC.addAll(List.of(a.bound(), b.bound()));
        ListenerFlows la = a.register("vip", 100_000, TIMEOUTS, 1);
        ListenerFlows lb = b.register("vip", 100_000, TIMEOUTS, 1);
        ListenerFlows lc = c.register("vip", 100_000, TIMEOUTS, 1);
        awaitSending(a, b.bound(), c.bound());
        a.dropOutgoing(seq -> seq % 5 == 2);   // one datagram in five never arrives the first time
        offer(la, 0, 20_000, 7);
        Await.until(Duration.ofSeconds(10), "20000 flows on b and c",
            () -> lb.replica().size() == 20_000 && lc.replica().size() == 20_000);
        for (int i = 0; i < 20_000; i += 997) {
            assertTrue(has(lb, i, 7) && has(lc, i, 7), "flow " + i);
        }
        assertEquals(20_000, la.replica().size(), "a keeps its own flows in its replica (snapshots)");
        assertTrue(a.stats().retransmits() > 0 && b.stats().naks() > 0, "recovered by NAK and retransmission");
        assertEquals(0, b.stats().lost());
        // a newer decision for a flow replaces the copy; an older one does not
        long now = FlowTable.versionNow();
        la.outbox(0).offer(0, 0xFFFF_0000_0000L | 5, FlowTable.ports(5, 80), 9, now + 10, FlowTable.ESTABLISHED);
        Await.until(Duration.ofSeconds(5), "update reached b", () -> has(lb, 5, 9));
        // b's packet threads hear of the changed decision (one that holds the flow takes it); new flows are not sent
        long[] heard = new long[8];
        assertEquals(1, lb.inbox(0).poll(heard, 2), "only the changed flow goes to the packet threads");
        assertEquals(9, (int) heard[2]);
        assertEquals(now + 10, heard[3] >>> 8);
        la.outbox(0).offer(0, 0xFFFF_0000_0000L | 5, FlowTable.ports(5, 80), 8, now - 10, FlowTable.ESTABLISHED);
        long stale = b.stats().entriesStale();
        Await.until(Duration.ofSeconds(5), "old entry seen as stale", () -> b.stats().entriesStale() > stale);
        assertTrue(has(lb, 5, 9));
    }

    @Test
    void forgedMalformedAndStaleMessagesAreDroppedAndCounted() throws Exception {
        FlowSync b = start("b", List.of());
        ListenerFlows lb = b.register("vip", 1000, TIMEOUTS, 1);
        SyncCodec forger = new SyncCodec("another key, not the cluster's.".getBytes());
        SyncCodec honest = new SyncCodec(KEY);
        ByteBuffer msg = ByteBuffer.allocate(SyncCodec.MAX_DATAGRAM);
        try (DatagramSocket s = new DatagramSocket()) {
            SyncCodec.header(msg, SyncCodec.DATA, 42, 1, 1, 0, System.currentTimeMillis());
            SyncCodec.entry(msg, ListenerFlows.listenerId("vip"), 0, 1, 1, 3, 1, 1);
            forger.seal(msg);
            send(s, msg, b);
            byte[] junk = new byte[200];
            new java.util.Random(1).nextBytes(junk);
            s.send(new DatagramPacket(junk, junk.length, b.bound()));
            SyncCodec.header(msg, SyncCodec.DATA, 42, 1, 2, 0, System.currentTimeMillis() - 120_000);
            SyncCodec.entry(msg, ListenerFlows.listenerId("vip"), 0, 1, 1, 3, 1, 1);
            honest.seal(msg);
            send(s, msg, b);
            SyncCodec.header(msg, SyncCodec.DATA, 42, 1, 3, 0, System.currentTimeMillis());
            SyncCodec.entry(msg, ListenerFlows.listenerId("not-a-listener"), 0, 1, 1, 3, 1, 1);
            honest.seal(msg);
            send(s, msg, b);
            // a count that does not match the length
            SyncCodec.header(msg, SyncCodec.DATA, 42, 1, 4, 0, System.currentTimeMillis());
            SyncCodec.entry(msg, ListenerFlows.listenerId("vip"), 0, 1, 1, 3, 1, 1);
            msg.putShort(6, (short) 3);
            honest.seal(msg);
            send(s, msg, b);
        }
        Await.until(Duration.ofSeconds(5), "one forged, two malformed, one stale, one for an unknown listener",
            () -> b.stats().dropped("auth") == 1 && b.stats().dropped("malformed") == 2
                && b.stats().dropped("stale") == 1 && b.stats().dropped("unknown_listener") == 1);
        assertEquals(0, lb.replica().size());
    }

    @Test
    void hostileBytesOnBothPortsAreDroppedAndNothingIsLost() throws Exception {
        List<InetSocketAddress> peersOfA = new CopyOnWriteArrayList<>();
        FlowSync a = start("a", peersOfA);
        FlowSync b = start("b", List.of());
        peersOfA.add(b.bound());
        ListenerFlows la = a.register("vip", 10_000, TIMEOUTS, 1);
        ListenerFlows lb = b.register("vip", 10_000, TIMEOUTS, 1);
        awaitSending(a, b.bound());
        offer(la, 0, 1000, 3);
        Await.until(Duration.ofSeconds(5), "b has a's flows", () -> lb.replica().size() == 1000);
        // a valid datagram to mutate: one real entry under the cluster key
        SyncCodec honest = new SyncCodec(KEY);
        ByteBuffer msg = ByteBuffer.allocate(SyncCodec.MAX_DATAGRAM);
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(11);
        long before = b.stats().dropped("auth") + b.stats().dropped("malformed") + b.stats().dropped("stale");
        int sent = 0;
        try (DatagramSocket s = new DatagramSocket()) {
            for (int i = 0; i < 3000; i++) {
                byte[] bytes;
                if (i % 2 == 0) {
                    bytes = new byte[rnd.nextInt(1, 1500)];
                    rnd.nextBytes(bytes);
                    if (bytes.length >= 8) {
                        ByteBuffer.wrap(bytes).putInt(0, SyncCodec.MAGIC).put(4, (byte) SyncCodec.VERSION);
                    }
                } else {
                    SyncCodec.header(msg, SyncCodec.DATA, 77, 5, 1000 + i, 0, System.currentTimeMillis());
                    SyncCodec.entry(msg, ListenerFlows.listenerId("vip"), 0, 5000 + i, 1, 9, 1, 1);
                    honest.seal(msg);
                    bytes = java.util.Arrays.copyOf(msg.array(), msg.limit());
                    bytes[rnd.nextInt(bytes.length)] ^= (byte) (1 << rnd.nextInt(8));   // one flipped bit
                }
                s.send(new DatagramPacket(bytes, bytes.length, b.bound()));
                sent++;
                if (i % 100 == 0) {
                    Thread.sleep(5);    // stay well within the receiver's socket buffer
                }
            }
        }
        // a snapshot port fed garbage: refused, counted, and the port keeps serving
        for (int i = 0; i < 20; i++) {
            try (java.net.Socket t = new java.net.Socket()) {
                t.connect(b.bound(), 2000);
                byte[] junk = new byte[rnd.nextInt(1, 3000)];
                rnd.nextBytes(junk);
                if (i % 2 == 0) {
                    ByteBuffer.wrap(junk).putInt(0, i % 4 == 0 ? 0x7FFFFFFF : 60);   // an absurd or a short length
                }
                t.getOutputStream().write(junk);
                t.shutdownOutput();
                t.setSoTimeout(5000);
                t.getInputStream().readAllBytes();   // the server closes without answering
            } catch (java.io.IOException expected) {
                // reset by the server: fine
            }
        }
        int total = sent;
        Await.until(Duration.ofSeconds(10), "every hostile datagram dropped and counted",
            () -> b.stats().dropped("auth") + b.stats().dropped("malformed") + b.stats().dropped("stale") - before
                >= total);
        assertEquals(1000, lb.replica().size(), "no hostile entry got in, no real one was lost");
        // and the channel still works
        offer(la, 1000, 1100, 3);
        Await.until(Duration.ofSeconds(5), "b still replicates", () -> lb.replica().size() == 1100);
        FlowSync d = start("d", List.of(b.bound()));
        ListenerFlows ld = d.register("vip", 10_000, TIMEOUTS, 1);
        assertTrue(d.pullFromAnyPeer(true), "b still serves snapshots");
        assertEquals(1100, ld.replica().size());
    }

    /**
     * The rate limit on a clock the test steps: a burst of a tenth of a second's budget, then the budget of each
     * 100 ms the clock moves, and nothing more however much is waiting; a full outbox refuses and counts.
     */
    @Test
    void theRateLimitHoldsEntriesBackAndAFullOutboxIsCounted() throws Exception {
        int rate = 20_000;
        FlowSync b = start("b", List.of());
        java.util.concurrent.atomic.AtomicLong clock = new java.util.concurrent.atomic.AtomicLong(1_000_000_000L);
        FlowSync a = new FlowSync("a", new InetSocketAddress("127.0.0.1", 0), KEY,
            new FlowSyncConfig(true, 0, rate, Duration.ofSeconds(3)), () -> List.of(b.bound()), clock::get);
        closing.add(a);
        ListenerFlows la = a.register("vip", 100_000, TIMEOUTS, 1);
        ListenerFlows lb = b.register("vip", 100_000, TIMEOUTS, 1);
        awaitSending(a, b.bound());
        int refused = 0;
        for (int i = 0; i < 40_000; i++) {
            if (!la.outbox(0).offer(0, 0xFFFF_0000_0000L | i, FlowTable.ports(i & 0xFFFF, 80), 1,
                FlowTable.versionNow(), FlowTable.SYN_SEEN)) {
                la.outboxFull();
                refused++;
            }
        }
        assertTrue(refused > 0 && la.outboxFullTotal() == refused, "a full outbox refuses and counts: " + refused);
        int datagram = SyncCodec.HEADER + SyncCodec.MAX_DATAGRAM_ENTRIES * SyncCodec.ENTRY + SyncCodec.MAC;
        Await.until(Duration.ofSeconds(5), "the first burst", () -> a.stats().entriesOut() > 0);
        int steps = 10;
        for (int step = 0; step < steps; step++) {
            long before = a.stats().entriesOut();
            clock.addAndGet(100_000_000L);
            Await.until(Duration.ofSeconds(5), "entries sent after the clock moved",
                () -> a.stats().entriesOut() > before);
        }
        long sent = a.stats().entriesOut();
        // what may go out: the first tenth of a second's budget, then rate x 1 s, overdrawn by one datagram at most
        long maxDatagrams = (rate / 10 + (long) rate * steps / 10) / datagram + 1;
        assertTrue(sent >= (steps + 1) * (long) SyncCodec.MAX_DATAGRAM_ENTRIES / 2,
            "entries follow the clock: " + sent);
        assertTrue(sent <= maxDatagrams * SyncCodec.MAX_DATAGRAM_ENTRIES,
            "at most " + maxDatagrams + " datagrams in one second of the clock, but " + sent + " entries went out");
        Await.until(Duration.ofSeconds(5), "b has what a sent", () -> lb.replica().size() == sent);
    }

    private static void send(DatagramSocket s, ByteBuffer msg, FlowSync to) throws Exception {
        s.send(new DatagramPacket(msg.array(), msg.limit(), to.bound()));
    }

    @Test
    void aLateJoinerPullsASnapshotOfEveryFlow() throws Exception {
        List<InetSocketAddress> peersOfA = new CopyOnWriteArrayList<>();
        FlowSync a = start("a", peersOfA);
        ListenerFlows la = a.register("vip", 200_000, TIMEOUTS, 1);
        ListenerFlows la2 = a.register("other", 1000, TIMEOUTS, 1);
        offer(la, 0, 100_000, 4);
        offer(la2, 0, 10, 5);
        Await.until(Duration.ofSeconds(10), "a recorded its flows",
            () -> la.replica().size() == 100_000 && la2.replica().size() == 10);
        FlowSync d = start("d", List.of(a.bound()));
        ListenerFlows ld = d.register("vip", 200_000, TIMEOUTS, 1);
        ListenerFlows ld2 = d.register("other", 1000, TIMEOUTS, 1);
        var spansA = io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter.create();
        var spansD = io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter.create();
        a.telemetry(io.l4mesh.node.telemetry.Telemetry.of("a", sdk(spansA)));
        d.telemetry(io.l4mesh.node.telemetry.Telemetry.of("d", sdk(spansD)));
        assertTrue(d.pullFromAnyPeer(true));
        assertEquals(100_000, ld.replica().size(), "applied before pull returns");
        var pulled = spansD.getFinishedSpanItems().stream().filter(x -> x.getName().equals("flow.snapshot.pull"))
            .findFirst().orElseThrow();
        assertEquals(100_010L, pulled.getAttributes().get(io.l4mesh.node.telemetry.Telemetry.COUNT), "a span per pull");
        assertEquals("d", pulled.getAttributes().get(io.l4mesh.node.telemetry.Telemetry.NODE));
        Await.until(Duration.ofSeconds(5), "and one per snapshot served", () -> spansA.getFinishedSpanItems().stream()
            .anyMatch(x -> x.getName().equals("flow.snapshot.served")
                && Long.valueOf(100_010L).equals(x.getAttributes().get(io.l4mesh.node.telemetry.Telemetry.COUNT))));
        assertEquals(10, ld2.replica().size());
        assertTrue(has(ld, 99_999, 4));
        assertEquals(1, a.stats().snapshotsServed());
        // a snapshot request under the wrong key gets nothing
        FlowSync e = new FlowSync("e", new InetSocketAddress("127.0.0.1", 0), "a different cluster key, 32 bytes".getBytes(),
            new FlowSyncConfig(true, 0, 50_000_000, Duration.ofSeconds(1)), () -> List.of(a.bound()));
        closing.add(e);
        e.register("vip", 1000, TIMEOUTS, 1);
        assertTrue(!e.pullFromAnyPeer(true));
        assertTrue(a.stats().dropped("auth") >= 1);
    }

    /**
     * The join race: flows that a peer creates after the joiner has started but before that peer sends to the
     * joiner must reach it anyway. The joiner waits until every peer streams to it, then pulls from each.
     */
    @Test
    void aJoinerGetsFlowsCreatedBeforeItsPeersStreamedToIt() throws Exception {
        List<InetSocketAddress> peersOfA = new CopyOnWriteArrayList<>();
        List<InetSocketAddress> peersOfB = new CopyOnWriteArrayList<>();
        List<InetSocketAddress> peersOfC = new CopyOnWriteArrayList<>();
        FlowSync a = start("a", peersOfA);
        FlowSync b = start("b", peersOfB);
        FlowSync c = start("c", peersOfC);
        peersOfA.add(b.bound());
        peersOfB.add(a.bound());
        ListenerFlows la = a.register("vip", 10_000, TIMEOUTS, 1);
        b.register("vip", 10_000, TIMEOUTS, 1);
        ListenerFlows lc = c.register("vip", 10_000, TIMEOUTS, 1);
        peersOfC.addAll(List.of(a.bound(), b.bound()));
        java.util.concurrent.CompletableFuture<Boolean> pulled = java.util.concurrent.CompletableFuture.supplyAsync(
            () -> c.pullFromAnyPeer(true));
        Thread.sleep(300);
        offer(la, 0, 500, 2);           // a does not send to c yet: these reach b only
        Await.until(Duration.ofSeconds(5), "a recorded its flows", () -> la.replica().size() == 500);
        assertTrue(!pulled.isDone(), "c waits while its peers do not stream to it");
        peersOfA.add(c.bound());
        peersOfB.add(c.bound());
        assertTrue(pulled.get(10, java.util.concurrent.TimeUnit.SECONDS));
        assertEquals(500, lc.replica().size(), "every flow a created before it streamed to c");
        assertEquals(1, a.stats().snapshotsServed(), "c pulled from a ...");
        assertEquals(1, b.stats().snapshotsServed(), "... and from b");
    }
}
