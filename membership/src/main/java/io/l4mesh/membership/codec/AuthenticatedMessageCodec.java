package io.l4mesh.membership.codec;

import io.scalecube.cluster.transport.api.Message;
import io.scalecube.cluster.transport.api.MessageCodec;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Authenticates every gossip frame with HMAC-SHA256 and refuses stale and replayed ones, before any byte of the body
 * is parsed. The body is written by {@link StrictObjectIO}, never by Java serialization.
 *
 * <pre>
 *  0       4    5           13          21     22        22+f     26+f        26+f+n      58+f+n
 *  +-------+----+-----------+-----------+------+---------+--------+-----------+-----------+
 *  | L4G1  | v1 | sent (ms) | nonce     | f    | from    | n      | body      | HMAC (32) |
 *  +-------+----+-----------+-----------+------+---------+--------+-----------+-----------+
 *  The HMAC covers every byte before it. Its key is HMAC-SHA256(cluster key, "l4mesh-gossip-v1|" + cluster name),
 *  so the same secret used for two clusters still keeps them apart.
 * </pre>
 *
 * <p>A frame whose clock is more than {@link #WINDOW_MS} from ours is stale; a nonce seen within the window is a
 * replay. Refusals are counted by {@link Rejections}; the frame is dropped (scalecube closes that connection).
 *
 * <p>Threading: safe for concurrent use (a {@link Mac} per thread).
 */
public final class AuthenticatedMessageCodec implements MessageCodec {
    /** Largest clock difference between members accepted, and how long nonces are remembered. */
    public static final long WINDOW_MS = 60_000;
    /** Nonces remembered at most; past this the oldest are forgotten early (and replays of them pass as stale). */
    static final int MAX_NONCES = 200_000;
    static final byte[] MAGIC = {'L', '4', 'G', '1'};
    static final int VERSION = 1;
    static final int MAC_BYTES = 32;
    static final int MIN_FRAME = 4 + 1 + 8 + 8 + 1 + 4 + MAC_BYTES;
    /** Header added to every accepted message: the sender's gossip address as it signed it. */
    public static final String FROM_HEADER = "l4mesh-from";

    private final byte[] macKey;
    private final String from;
    private final Rejections rejections;
    private final LongSupplier clockMs;
    private final SecureRandom random = new SecureRandom();
    private final Map<Long, Long> nonces = new ConcurrentHashMap<>();
    private final ThreadLocal<Mac> macs;
    private final java.util.concurrent.atomic.LongAdder framesIn = new java.util.concurrent.atomic.LongAdder();
    private final java.util.concurrent.atomic.LongAdder framesOut = new java.util.concurrent.atomic.LongAdder();

    /**
     * @param key         the cluster key
     * @param clusterName the cluster's name
     * @param from        this member's gossip address, stamped into every frame it sends
     */
    public AuthenticatedMessageCodec(byte[] key, String clusterName, String from, Rejections rejections,
                                     LongSupplier clockMs) {
        this.macKey = derive(key, clusterName);
        this.from = from;
        this.rejections = rejections;
        this.clockMs = clockMs;
        this.macs = ThreadLocal.withInitial(() -> newMac(macKey));
    }

    private static byte[] derive(byte[] key, String clusterName) {
        Mac mac = newMac(key);
        return mac.doFinal(("l4mesh-gossip-v1|" + clusterName).getBytes(StandardCharsets.UTF_8));
    }

    private static Mac newMac(byte[] key) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }

    @Override
    public void serialize(Message message, OutputStream stream) throws Exception {
        ByteArrayOutputStream body = new ByteArrayOutputStream(256);
        try (StrictObjectIO.Out out = new StrictObjectIO.Out(body)) {
            out.writeObject(message);
        }
        byte[] fromBytes = from.getBytes(StandardCharsets.UTF_8);
        byte[] b = body.toByteArray();
        ByteBuffer frame = ByteBuffer.allocate(MIN_FRAME + fromBytes.length + b.length);
        frame.put(MAGIC).put((byte) VERSION).putLong(clockMs.getAsLong()).putLong(random.nextLong())
            .put((byte) fromBytes.length).put(fromBytes).putInt(b.length).put(b);
        Mac mac = macs.get();
        mac.update(frame.array(), 0, frame.position());
        frame.put(mac.doFinal());
        stream.write(frame.array());
        framesOut.increment();
    }

    /** Frames accepted so far. */
    public long framesIn() {
        return framesIn.sum();
    }

    /** Frames sent so far. */
    public long framesOut() {
        return framesOut.sum();
    }

    @Override
    public Message deserialize(InputStream stream) throws Exception {
        byte[] f = stream.readNBytes(StrictObjectIO.MAX_BYTES + 4096);
        if (f.length < MIN_FRAME) {
            throw reject(Rejections.Reason.TRUNCATED, "frame of " + f.length + " bytes");
        }
        ByteBuffer b = ByteBuffer.wrap(f);
        byte[] magic = new byte[4];
        b.get(magic);
        if (!MessageDigest.isEqual(magic, MAGIC) || b.get() != VERSION) {
            throw reject(Rejections.Reason.MALFORMED, "not an l4mesh v1 gossip frame");
        }
        long sent = b.getLong();
        long nonce = b.getLong();
        int fromLen = b.get() & 0xFF;
        if (b.remaining() < fromLen + 4 + MAC_BYTES) {
            throw reject(Rejections.Reason.TRUNCATED, "sender field past the end");
        }
        byte[] fromBytes = new byte[fromLen];
        b.get(fromBytes);
        int bodyLen = b.getInt();
        if (bodyLen < 0 || bodyLen != b.remaining() - MAC_BYTES) {
            throw reject(Rejections.Reason.TRUNCATED, "body length " + bodyLen + " but " + (b.remaining() - MAC_BYTES)
                + " bytes left");
        }
        int macAt = f.length - MAC_BYTES;
        Mac mac = macs.get();
        mac.update(f, 0, macAt);
        byte[] expected = mac.doFinal();
        if (!MessageDigest.isEqual(expected, java.util.Arrays.copyOfRange(f, macAt, f.length))) {
            throw reject(Rejections.Reason.BAD_MAC, "from " + new String(fromBytes, StandardCharsets.UTF_8)
                + " (wrong cluster key or name?)");
        }
        long now = clockMs.getAsLong();
        if (Math.abs(now - sent) > WINDOW_MS) {
            throw reject(Rejections.Reason.STALE, "sent " + (now - sent) + " ms ago");
        }
        if (nonces.putIfAbsent(nonce, sent + WINDOW_MS) != null) {
            throw reject(Rejections.Reason.REPLAY, "nonce seen before");
        }
        if (nonces.size() > MAX_NONCES) {
            forget(now);
        }
        Message m;
        try (StrictObjectIO.In in = new StrictObjectIO.In(new ByteArrayInputStream(f, b.position(), bodyLen))) {
            Object o = in.readObject();
            if (!(o instanceof Message msg)) {
                throw new IOException("body is not a message");
            }
            m = msg;
        } catch (IOException e) {
            throw reject(Rejections.Reason.MALFORMED, e.getMessage());
        }
        framesIn.increment();
        return Message.with(m).header(FROM_HEADER, new String(fromBytes, StandardCharsets.UTF_8)).build();
    }

    private void forget(long now) {
        for (Iterator<Map.Entry<Long, Long>> it = nonces.entrySet().iterator(); it.hasNext(); ) {
            if (it.next().getValue() < now) {
                it.remove();
            }
        }
        int excess = nonces.size() - MAX_NONCES;
        for (Iterator<Long> it = nonces.keySet().iterator(); excess > 0 && it.hasNext(); excess--) {
            it.next();
            it.remove();
        }
    }

    private IOException reject(Rejections.Reason reason, String detail) {
        rejections.record(reason, detail);
        return new IOException("gossip frame refused: " + reason.name().toLowerCase() + ": " + detail);
    }
}
