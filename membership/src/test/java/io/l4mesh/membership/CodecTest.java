package io.l4mesh.membership;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.l4mesh.membership.codec.AuthenticatedMessageCodec;
import io.l4mesh.membership.codec.Rejections;
import io.scalecube.cluster.transport.api.Message;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class CodecTest {
    static final byte[] KEY = ClusterKey.parse(MembershipTest.KEY, "t").bytes();

    private static byte[] frame(AuthenticatedMessageCodec c, Message m) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        c.serialize(m, out);
        return out.toByteArray();
    }

    @Test
    void roundTripAddsTheSenderAndRefusesReplaysStaleAndForeignFrames() throws Exception {
        AtomicLong clock = new AtomicLong(1_000_000);
        Rejections rej = new Rejections();
        AuthenticatedMessageCodec a = new AuthenticatedMessageCodec(KEY, "c", "10.0.0.1:7946", new Rejections(),
            clock::get);
        AuthenticatedMessageCodec b = new AuthenticatedMessageCodec(KEY, "c", "10.0.0.2:7946", rej, clock::get);
        byte[] f = frame(a, Message.withData("x".getBytes(StandardCharsets.UTF_8)).qualifier("q").header("h", "v")
            .build());
        Message m = b.deserialize(new ByteArrayInputStream(f));
        assertEquals("q", m.qualifier());
        assertEquals("v", m.header("h"));
        assertEquals("10.0.0.1:7946", m.header(AuthenticatedMessageCodec.FROM_HEADER));
        assertArrayEquals("x".getBytes(StandardCharsets.UTF_8), m.<byte[]>data());

        assertThrows(IOException.class, () -> b.deserialize(new ByteArrayInputStream(f)));
        assertEquals(1, rej.count(Rejections.Reason.REPLAY));

        clock.addAndGet(AuthenticatedMessageCodec.WINDOW_MS + 1);
        byte[] old = frame(a, Message.withData("y".getBytes(StandardCharsets.UTF_8)).qualifier("q").build());
        clock.addAndGet(-2 * (AuthenticatedMessageCodec.WINDOW_MS + 1));
        assertThrows(IOException.class, () -> b.deserialize(new ByteArrayInputStream(old)));
        assertEquals(1, rej.count(Rejections.Reason.STALE));

        AuthenticatedMessageCodec otherCluster = new AuthenticatedMessageCodec(KEY, "other", "10.0.0.3:1",
            new Rejections(), clock::get);
        byte[] foreign = frame(otherCluster, Message.withData("z".getBytes(StandardCharsets.UTF_8)).build());
        assertThrows(IOException.class, () -> b.deserialize(new ByteArrayInputStream(foreign)));
        assertEquals(1, rej.count(Rejections.Reason.BAD_MAC));
    }

    @Test
    void concurrentUseKeepsMacsRight() throws Exception {
        Rejections rej = new Rejections();
        AuthenticatedMessageCodec a = new AuthenticatedMessageCodec(KEY, "c", "10.0.0.1:1", new Rejections(),
            System::currentTimeMillis);
        AuthenticatedMessageCodec b = new AuthenticatedMessageCodec(KEY, "c", "10.0.0.2:1", rej,
            System::currentTimeMillis);
        Thread[] threads = new Thread[4];
        for (int t = 0; t < threads.length; t++) {
            threads[t] = Thread.ofPlatform().start(() -> {
                try {
                    for (int i = 0; i < 2000; i++) {
                        byte[] f = frame(a, Message.withData(new byte[i % 100]).qualifier("q" + i).build());
                        b.deserialize(new ByteArrayInputStream(f));
                    }
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
        }
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(0, rej.total());
        assertEquals(8000, b.framesIn());
    }
}
