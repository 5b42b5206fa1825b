package io.l4mesh.node.flow;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The flow-sync wire format: one message per UDP datagram (or per TCP frame for snapshots), big-endian, sealed
 * with 16 bytes of HMAC-SHA256 under a key derived from the cluster key.
 *
 * <pre>
 * 0  u32 magic "L4FS" | u8 version=1 | u8 type | u16 count
 * 8  u64 sender (XXH64 of its node id) | u64 epoch (random per process start)
 * 24 u64 seq | u64 aux | u64 sent at (ms since the Unix epoch)
 * 48 count x entry: u32 listener | u32 backend | u64 source hi | u64 source lo | u32 ports | u64 version << 8 | state
 * .. 16 bytes HMAC-SHA256 of everything before
 * </pre>
 *
 * DATA carries entries under {@code seq}; HEARTBEAT names the last seq sent; NAK asks for seqs {@code seq..aux}
 * of epoch {@code epoch}; GONE answers that seqs before {@code seq} are no longer held (the receiver resyncs by
 * snapshot). Over TCP, SNAPSHOT_REQUEST asks for a snapshot, SNAPSHOT_DATA frames carry it and SNAPSHOT_END closes
 * it; each frame is preceded by its u32 length.
 *
 * <p>Threading: one instance per thread (a {@link Mac} is not thread-safe). No allocation per message.
 */
final class SyncCodec {
    static final int MAGIC = 0x4C344653;
    static final int VERSION = 1;
    static final int DATA = 1;
    static final int HEARTBEAT = 2;
    static final int NAK = 3;
    static final int GONE = 4;
    static final int SNAPSHOT_REQUEST = 5;
    static final int SNAPSHOT_DATA = 6;
    static final int SNAPSHOT_END = 7;
    static final int HEADER = 48;
    static final int ENTRY = 36;
    static final int MAC = 16;
    /** Datagrams stay below common 1500-byte MTUs with room for IP/UDP and tunnels. */
    static final int MAX_DATAGRAM = 1400;
    static final int MAX_DATAGRAM_ENTRIES = (MAX_DATAGRAM - HEADER - MAC) / ENTRY;
    static final int MAX_FRAME = 65_536;
    static final int MAX_FRAME_ENTRIES = (MAX_FRAME - HEADER - MAC) / ENTRY;
    /** Bit of an entry's state byte: a refresh or snapshot copy, not a fresh decision (no lag sample). */
    static final int NOT_FRESH = 0x80;

    private final Mac mac;
    private final byte[] digest = new byte[32];

    SyncCodec(byte[] clusterKey) {
        try {
            Mac derive = Mac.getInstance("HmacSHA256");
            derive.init(new SecretKeySpec(clusterKey, "HmacSHA256"));
            byte[] key = derive.doFinal("l4mesh flow sync v1".getBytes(StandardCharsets.US_ASCII));
            this.mac = Mac.getInstance("HmacSHA256");
            this.mac.init(new SecretKeySpec(key, "HmacSHA256"));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }

    /** Starts a message in {@code b} (array-backed): clears it and writes the header with count 0. */
    static void header(ByteBuffer b, int type, long sender, long epoch, long seq, long aux, long nowMs) {
        b.clear();
        b.putInt(MAGIC).put((byte) VERSION).put((byte) type).putShort((short) 0);
        b.putLong(sender).putLong(epoch).putLong(seq).putLong(aux).putLong(nowMs);
    }

    static void entry(ByteBuffer b, int listener, long srcHi, long srcLo, int ports, int backend, long version,
                      int state) {
        b.putInt(listener).putInt(backend).putLong(srcHi).putLong(srcLo).putInt(ports)
            .putLong(FlowEntry.versionState(version, state));
        b.putShort(6, (short) (b.getShort(6) + 1));
    }

    static int count(ByteBuffer b) {
        return b.getShort(6) & 0xFFFF;
    }

    static int type(ByteBuffer b) {
        return b.get(5) & 0xFF;
    }

    static long sender(ByteBuffer b) {
        return b.getLong(8);
    }

    static long epoch(ByteBuffer b) {
        return b.getLong(16);
    }

    static long seq(ByteBuffer b) {
        return b.getLong(24);
    }

    static long aux(ByteBuffer b) {
        return b.getLong(32);
    }

    static long sentAt(ByteBuffer b) {
        return b.getLong(40);
    }

    /** Offset of entry {@code i}. */
    static int at(int i) {
        return HEADER + i * ENTRY;
    }

    static int entryListener(ByteBuffer b, int i) {
        return b.getInt(at(i));
    }

    static int entryBackend(ByteBuffer b, int i) {
        return b.getInt(at(i) + 4);
    }

    static long entrySrcHi(ByteBuffer b, int i) {
        return b.getLong(at(i) + 8);
    }

    static long entrySrcLo(ByteBuffer b, int i) {
        return b.getLong(at(i) + 16);
    }

    static int entryPorts(ByteBuffer b, int i) {
        return b.getInt(at(i) + 24);
    }

    /** {@link FlowEntry#versionState}: version and state (the state's high bit: {@link #NOT_FRESH}). */
    static long entryVersionState(ByteBuffer b, int i) {
        return b.getLong(at(i) + 28);
    }

    /** Appends the MAC after the content written so far and flips the buffer for sending. */
    void seal(ByteBuffer b) {
        int end = b.position();
        mac.update(b.array(), b.arrayOffset(), end);
        try {
            mac.doFinal(digest, 0);
        } catch (javax.crypto.ShortBufferException e) {
            throw new IllegalStateException(e);
        }
        b.put(digest, 0, MAC);
        b.flip();
    }

    /**
     * Checks a received message in {@code b} (position 0, limit its length): shape, version, entry count against
     * length, and MAC.
     *
     * @return null when it is sound, else the reason to drop it ({@code malformed} or {@code auth})
     */
    String check(ByteBuffer b) {
        int len = b.limit();
        if (len < HEADER + MAC || b.getInt(0) != MAGIC || (b.get(4) & 0xFF) != VERSION) {
            return "malformed";
        }
        int type = type(b);
        if (type < DATA || type > SNAPSHOT_END) {
            return "malformed";
        }
        if (len != HEADER + count(b) * ENTRY + MAC) {
            return "malformed";
        }
        mac.update(b.array(), b.arrayOffset(), len - MAC);
        try {
            mac.doFinal(digest, 0);
        } catch (javax.crypto.ShortBufferException e) {
            throw new IllegalStateException(e);
        }
        int diff = 0;
        for (int i = 0; i < MAC; i++) {
            diff |= digest[i] ^ b.get(len - MAC + i);
        }
        return diff == 0 ? null : "auth";
    }
}
