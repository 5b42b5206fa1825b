package io.l4mesh.membership;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.l4mesh.membership.codec.AuthenticatedMessageCodec;
import io.l4mesh.membership.codec.Rejections;
import io.scalecube.cluster.transport.api.Message;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Members in one JVM on loopback: joining, messages, state, leaving, and what an attacker can and cannot do. */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class MembershipTest {
    static final String KEY = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    private final List<Membership> started = new ArrayList<>();

    @AfterEach
    void stop() {
        for (Membership m : started) {
            m.leave(Duration.ofSeconds(1));
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    static void await(Duration timeout, String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for: " + what);
            }
            Thread.sleep(20);
        }
    }

    /** Records what the listener hears. */
    static final class Recorder implements MembershipListener {
        final List<String> messages = new CopyOnWriteArrayList<>();
        final List<String> gone = new CopyOnWriteArrayList<>();
        final List<String> states = new CopyOnWriteArrayList<>();

        @Override
        public void viewChanged(MemberView view, Member joined, Member left, boolean graceful) {
            if (left != null) {
                gone.add(left.nodeId() + (graceful ? " leaving" : " removed"));
            }
        }

        @Override
        public void stateChanged(Member member, byte[] state) {
            states.add(member.nodeId() + "=" + new String(state, StandardCharsets.UTF_8));
        }

        @Override
        public void message(String topic, byte[] payload, Member from) {
            messages.add(topic + ":" + new String(payload, StandardCharsets.UTF_8) + "@" + from.nodeId());
        }
    }

    private Membership start(String node, int port, List<Integer> seeds, String key, Recorder r, Faults f) {
        List<String> s = seeds.stream().map(p -> "127.0.0.1:" + p).toList();
        Membership m = Membership.start(new MembershipConfig(node, "test", "127.0.0.1", port, s,
            MembershipConfig.DEFAULT_PING_INTERVAL, MembershipConfig.DEFAULT_PING_TIMEOUT,
            MembershipConfig.DEFAULT_SUSPICION_MULT, Duration.ofSeconds(1), MembershipConfig.DEFAULT_GOSSIP_INTERVAL,
            ClusterKey.parse(key, "test")), r, f);
        started.add(m);
        return m;
    }

    @Test
    void joinGossipStateAndGracefulLeave() throws Exception {
        int p1 = freePort();
        int p2 = freePort();
        int p3 = freePort();
        Recorder r1 = new Recorder();
        Recorder r2 = new Recorder();
        Recorder r3 = new Recorder();
        // Start in reverse order: the seed (n1) is not up when n3 and n2 start; they keep trying.
        Membership m3 = start("n3", p3, List.of(p1), KEY, r3, new Faults());
        Membership m2 = start("n2", p2, List.of(p1), KEY, r2, new Faults());
        Thread.sleep(500);
        Membership m1 = start("n1", p1, List.of(p2, p3), KEY, r1, new Faults());
        await(Duration.ofSeconds(20), "everyone sees everyone",
            () -> m1.view().size() == 3 && m2.view().size() == 3 && m3.view().size() == 3);

        m2.broadcast("pool", "hello".getBytes(StandardCharsets.UTF_8));
        await(Duration.ofSeconds(5), "gossip reaches all", () -> r1.messages.contains("pool:hello@n2")
            && r3.messages.contains("pool:hello@n2"));
        Member n3 = m1.view().others().stream().filter(m -> m.nodeId().equals("n3")).findFirst().orElseThrow();
        m1.send(n3, "sync", "direct".getBytes(StandardCharsets.UTF_8));
        await(Duration.ofSeconds(5), "direct message", () -> r3.messages.contains("sync:direct@n1"));
        assertTrue(!r2.messages.contains("sync:direct@n1"), "a direct message goes to one member only");

        m3.publish("state-3".getBytes(StandardCharsets.UTF_8));
        await(Duration.ofSeconds(10), "state seen", () -> r1.states.contains("n3=state-3"));
        Member n3From2 = m2.view().others().stream().filter(m -> m.nodeId().equals("n3")).findFirst().orElseThrow();
        await(Duration.ofSeconds(10), "state kept", () -> m2.stateOf(n3From2) != null
            && new String(m2.stateOf(n3From2), StandardCharsets.UTF_8).equals("state-3"));

        long t0 = System.nanoTime();
        m3.leave(Duration.ofSeconds(2));
        await(Duration.ofSeconds(5), "leave seen", () -> m1.view().size() == 2 && m2.view().size() == 2);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        System.out.printf("membership: graceful leave seen by all in %d ms%n", ms);
        assertTrue(r1.gone.contains("n3 leaving") || r1.gone.contains("n3 removed"), r1.gone.toString());
        assertEquals(0, m1.stats().rejected());
        assertTrue(m1.stats().framesIn() > 0 && m1.stats().framesOut() > 0);
    }

    @Test
    void wrongKeyCannotJoinOrInject() throws Exception {
        int p1 = freePort();
        int p2 = freePort();
        int bad = freePort();
        Recorder r1 = new Recorder();
        Membership m1 = start("n1", p1, List.of(p2), KEY, r1, new Faults());
        Membership m2 = start("n2", p2, List.of(p1), KEY, new Recorder(), new Faults());
        await(Duration.ofSeconds(20), "pair formed", () -> m1.view().size() == 2 && m2.view().size() == 2);
        String otherKey = KEY.replace('0', 'f');
        Membership intruder = start("evil", bad, List.of(p1, p2), otherKey, new Recorder(), new Faults());
        intruder.broadcast("pool", "inject".getBytes(StandardCharsets.UTF_8));
        await(Duration.ofSeconds(10), "intruder refused", () -> m1.stats().rejectedBadMac() > 0);
        Thread.sleep(2000);
        assertEquals(2, m1.view().size(), "the intruder is not a member");
        assertEquals(1, intruder.view().size(), "the intruder sees nobody");
        assertTrue(r1.messages.isEmpty(), "nothing injected: " + r1.messages);
    }

    @Test
    void garbageTruncatedAndReplayedFramesAreCountedAndChangeNothing() throws Exception {
        int p1 = freePort();
        int p2 = freePort();
        Recorder r1 = new Recorder();
        Membership m1 = start("n1", p1, List.of(p2), KEY, r1, new Faults());
        Membership m2 = start("n2", p2, List.of(p1), KEY, new Recorder(), new Faults());
        await(Duration.ofSeconds(20), "pair formed", () -> m1.view().size() == 2);

        Random random = new Random(11);
        for (int i = 0; i < 50; i++) {
            byte[] junk = new byte[1 + random.nextInt(3000)];
            random.nextBytes(junk);
            sendFrame(p1, junk);
        }
        // A valid frame (right key), sent twice: the second is a replay.
        AuthenticatedMessageCodec forger = new AuthenticatedMessageCodec(ClusterKey.parse(KEY, "t").bytes(), "test",
            "127.0.0.1:" + p2, new Rejections(), System::currentTimeMillis);
        ByteArrayOutputStream frame = new ByteArrayOutputStream();
        forger.serialize(Message.withData("once".getBytes(StandardCharsets.UTF_8)).qualifier("l4mesh/pool").build(),
            frame);
        byte[] valid = frame.toByteArray();
        sendFrame(p1, valid);
        sendFrame(p1, valid);
        sendFrame(p1, java.util.Arrays.copyOf(valid, valid.length / 2));
        byte[] tampered = valid.clone();
        tampered[tampered.length / 2] ^= 1;
        sendFrame(p1, tampered);

        await(Duration.ofSeconds(10), "all counted", () -> {
            MembershipStats s = m1.stats();
            return s.rejectedReplay() >= 1 && s.rejectedBadMac() >= 1 && s.rejectedMalformed() >= 40;
        });
        await(Duration.ofSeconds(5), "the valid frame was delivered once", () -> r1.messages.contains("pool:once@n2"));
        Thread.sleep(500);
        assertEquals(1, r1.messages.stream().filter("pool:once@n2"::equals).count(), "replay not delivered");
        m2.broadcast("pool", "after".getBytes(StandardCharsets.UTF_8));
        await(Duration.ofSeconds(5), "still gossiping", () -> r1.messages.contains("pool:after@n2"));
        assertEquals(2, m1.view().size());
    }

    private static void sendFrame(int port, byte[] payload) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 2000);
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            out.writeInt(payload.length);
            out.write(payload);
            out.flush();
            s.setSoTimeout(300);
            try {
                s.getInputStream().read();
            } catch (IOException ignored) {
                // The node closes or ignores: either is fine.
            }
        }
    }

    @Test
    void faultSeamPartitionsAndHeals() throws Exception {
        int p1 = freePort();
        int p2 = freePort();
        int p3 = freePort();
        Faults f1 = new Faults();
        Faults f2 = new Faults();
        Faults f3 = new Faults();
        Membership m1 = start("n1", p1, List.of(p2, p3), KEY, new Recorder(), f1);
        Membership m2 = start("n2", p2, List.of(p1, p3), KEY, new Recorder(), f2);
        Membership m3 = start("n3", p3, List.of(p1, p2), KEY, new Recorder(), f3);
        await(Duration.ofSeconds(20), "formed", () -> m1.view().size() == 3 && m3.view().size() == 3);
        String a3 = "127.0.0.1:" + p3;
        f1.block(java.util.Set.of(a3));
        f2.block(java.util.Set.of(a3));
        f3.block(java.util.Set.of("127.0.0.1:" + p1, "127.0.0.1:" + p2));
        await(Duration.ofSeconds(20), "split", () -> m1.view().size() == 2 && m3.view().size() == 1);
        long t0 = System.nanoTime();
        f1.clear();
        f2.clear();
        f3.clear();
        await(Duration.ofSeconds(30), "healed", () -> m1.view().size() == 3 && m2.view().size() == 3
            && m3.view().size() == 3);
        System.out.printf("membership: partition healed in %d ms%n", (System.nanoTime() - t0) / 1_000_000);
        assertTrue(m1.stats().droppedByFault() > 0);
        assertArrayEquals(new byte[0], new byte[0]);
    }

    @Test
    void aLossyLinkDropsAShareOfFramesAndGossipStillArrives() throws Exception {
        int p1 = freePort();
        int p2 = freePort();
        int p3 = freePort();
        Faults f1 = new Faults();
        Faults f2 = new Faults();
        Faults f3 = new Faults();
        Recorder r1 = new Recorder();
        Recorder r3 = new Recorder();
        Membership m1 = start("n1", p1, List.of(p2, p3), KEY, r1, f1);
        Membership m2 = start("n2", p2, List.of(p1, p3), KEY, new Recorder(), f2);
        Membership m3 = start("n3", p3, List.of(p1, p2), KEY, r3, f3);
        await(Duration.ofSeconds(20), "formed", () -> m1.view().size() == 3 && m2.view().size() == 3
            && m3.view().size() == 3);
        for (Faults f : List.of(f1, f2, f3)) {
            f.lossy(0.2, 20);
        }
        long sentBefore = m2.stats().framesOut();
        long droppedBefore = m2.stats().droppedByFault();
        for (int i = 0; i < 10; i++) {
            m2.broadcast("pool", ("m" + i).getBytes(StandardCharsets.UTF_8));
        }
        await(Duration.ofSeconds(10), "every message reaches every member despite the loss", () -> {
            for (int i = 0; i < 10; i++) {
                if (!r1.messages.contains("pool:m" + i + "@n2") || !r3.messages.contains("pool:m" + i + "@n2")) {
                    return false;
                }
            }
            return true;
        });
        Thread.sleep(3000);   // three seconds of pings on the lossy links
        long dropped = m2.stats().droppedByFault() - droppedBefore;
        long sent = m2.stats().framesOut() - sentBefore;
        System.out.printf("membership: lossy link dropped %d of %d frames%n", dropped, dropped + sent);
        assertTrue(dropped > 0, "the lossy link dropped frames");
        double share = (double) dropped / (dropped + sent);
        assertTrue(share > 0.08 && share < 0.35, "about a fifth of the frames dropped: " + share);
        assertEquals(List.of(), r1.gone, "no member was declared dead on a 20% lossy link");
        assertEquals(new Faults.Loss(0.2, 20), f2.loss());
        f2.clear();
        assertEquals(new Faults.Loss(0, 0), f2.loss());
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> f2.lossy(1.5, 0));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> f2.lossy(0.1, -1));
    }
}
