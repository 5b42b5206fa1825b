package io.l4mesh.node.mesh;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What each node publishes about itself (membership metadata): its admin and flow-sync addresses, a digest of its
 * pool ledger, its Maglev fingerprint and pool version per pool, and the backends its own probes see down.
 *
 * <pre>
 * u8 version=2 | UTF nodeId | UTF admin | UTF sync | i64 ledgerDigest | i32 ledgerSize | i64 publishedAtMs
 * | u16 pools x (UTF name | i64 fingerprint | i64 version) | u16 down x (UTF pool | UTF backend)
 * </pre>
 *
 * @param sync flow-sync address (host:port), empty when flow sync is off
 * @param down entries {@code pool/backend} this node sees down
 */
public record NodeState(String nodeId, String admin, String sync, long ledgerDigest, int ledgerSize, long publishedAtMs,
                        Map<String, PoolView> pools, Set<String> down) {
    static final int VERSION = 2;
    static final int MAX_ITEMS = 10_000;

    /** A pool as one node routes it. */
    public record PoolView(long fingerprint, long version) {
    }

    public NodeState {
        pools = Map.copyOf(pools);
        down = Set.copyOf(down);
    }

    /** The key used in {@link #down}. */
    static String key(String pool, String backend) {
        return pool + "/" + backend;
    }

    byte[] encode() {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
            DataOutputStream out = new DataOutputStream(bytes);
            out.writeByte(VERSION);
            out.writeUTF(nodeId);
            out.writeUTF(admin);
            out.writeUTF(sync);
            out.writeLong(ledgerDigest);
            out.writeInt(ledgerSize);
            out.writeLong(publishedAtMs);
            Map<String, PoolView> sorted = new TreeMap<>(pools);
            out.writeShort(sorted.size());
            for (var e : sorted.entrySet()) {
                out.writeUTF(e.getKey());
                out.writeLong(e.getValue().fingerprint());
                out.writeLong(e.getValue().version());
            }
            Set<String> d = new TreeSet<>(down);
            out.writeShort(d.size());
            for (String k : d) {
                out.writeUTF(k);
            }
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static NodeState decode(byte[] data) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(data));
        if (in.readUnsignedByte() != VERSION) {
            throw new IOException("unknown node state version");
        }
        String nodeId = in.readUTF();
        String admin = in.readUTF();
        String sync = in.readUTF();
        long digest = in.readLong();
        int size = in.readInt();
        long at = in.readLong();
        int np = in.readUnsignedShort();
        if (np > MAX_ITEMS) {
            throw new IOException("too many pools");
        }
        Map<String, PoolView> pools = new TreeMap<>();
        for (int i = 0; i < np; i++) {
            pools.put(in.readUTF(), new PoolView(in.readLong(), in.readLong()));
        }
        int nd = in.readUnsignedShort();
        List<String> down = new ArrayList<>();
        for (int i = 0; i < nd; i++) {
            down.add(in.readUTF());
        }
        if (in.available() != 0) {
            throw new IOException("trailing bytes");
        }
        return new NodeState(nodeId, admin, sync, digest, size, at, pools, Set.copyOf(down));
    }
}
