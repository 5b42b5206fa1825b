package io.l4mesh.node.mesh;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.l4mesh.hashring.XxHash64;
import io.l4mesh.node.config.BackendConfig;
import io.l4mesh.node.config.HostPort;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The converged pool: a last-writer-wins map of {@link PoolEntry}, with its wire and file formats.
 *
 * <pre>
 * wire: u8 version=1 | u32 count | count x ( UTF pool | UTF backend | i32 weight | u8 flags (1 draining, 2 deleted)
 *                                            | i64 stamp | UTF origin )
 * </pre>
 *
 * <p>Threading: the control thread's.
 */
public final class PoolLedger {
    /** Tombstones older than this are forgotten (a node away longer than this may bring a removed backend back). */
    public static final long TOMBSTONE_TTL_MS = 3_600_000;
    static final int MAX_ENTRIES = 100_000;
    static final int VERSION = 1;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, PoolEntry> entries = new TreeMap<>();

    /** Merges an entry; returns true when it replaced what was there (the caller applies it). */
    public boolean merge(PoolEntry e) {
        PoolEntry cur = entries.get(e.key());
        if (e.newerThan(cur)) {
            entries.put(e.key(), e);
            return true;
        }
        return false;
    }

    public PoolEntry get(String pool, String backend) {
        return entries.get(pool + "\u0000" + backend);
    }

    public Collection<PoolEntry> entries() {
        return List.copyOf(entries.values());
    }

    public int size() {
        return entries.size();
    }

    /** A 64-bit digest of every entry: equal digests mean equal ledgers. */
    public long digest() {
        long h = XxHash64.hash("l4mesh-ledger-v1", 0);
        for (PoolEntry e : entries.values()) {
            h ^= XxHash64.hash(e.key() + "|" + e.weight() + "|" + e.draining() + "|" + e.deleted() + "|" + e.stamp()
                + "|" + e.origin(), h);
        }
        return h;
    }

    /** Drops tombstones older than {@link #TOMBSTONE_TTL_MS}; returns how many. */
    public int collect(long nowMs) {
        int n = 0;
        for (var it = entries.values().iterator(); it.hasNext(); ) {
            PoolEntry e = it.next();
            if (e.deleted() && e.stamp() != 0 && nowMs - Hlc.millis(e.stamp()) > TOMBSTONE_TTL_MS) {
                it.remove();
                n++;
            }
        }
        return n;
    }

    /** Encodes entries for the wire. */
    public static byte[] encode(Collection<PoolEntry> list) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 + 64 * list.size());
            DataOutputStream out = new DataOutputStream(bytes);
            out.writeByte(VERSION);
            out.writeInt(list.size());
            for (PoolEntry e : list) {
                out.writeUTF(e.pool());
                out.writeUTF(e.backend());
                out.writeInt(e.weight());
                out.writeByte((e.draining() ? 1 : 0) | (e.deleted() ? 2 : 0));
                out.writeLong(e.stamp());
                out.writeUTF(e.origin());
            }
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Decodes entries; every field is checked, and anything off is an {@link IOException} (dropped, counted). */
    public static List<PoolEntry> decode(byte[] data) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(data));
        if (in.readUnsignedByte() != VERSION) {
            throw new IOException("unknown ledger version");
        }
        int n = in.readInt();
        if (n < 0 || n > MAX_ENTRIES) {
            throw new IOException("entry count " + n + " out of range");
        }
        List<PoolEntry> out = new ArrayList<>(Math.min(n, 1024));
        for (int i = 0; i < n; i++) {
            String pool = in.readUTF();
            String backend = in.readUTF();
            int weight = in.readInt();
            int flags = in.readUnsignedByte();
            long stamp = in.readLong();
            String origin = in.readUTF();
            if (!io.l4mesh.node.config.Names.valid(pool) || HostPort.parse(backend, false) == null
                || BackendConfig.weightError(weight) != null || (flags & ~3) != 0 || stamp < 0
                || origin.isEmpty() || origin.length() > 64) {
                throw new IOException("malformed entry " + i);
            }
            out.add(new PoolEntry(pool, HostPort.parse(backend, false).toString(), weight, (flags & 1) != 0,
                (flags & 2) != 0, stamp, origin));
        }
        if (in.available() != 0) {
            throw new IOException("trailing bytes");
        }
        return out;
    }

    /** Writes the ledger to {@code file} atomically (JSON, for people too). */
    public void save(Path file) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.write(tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(entries.values()));
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Reads a ledger saved by {@link #save}; a damaged file is an {@link IOException} naming it. */
    public static List<PoolEntry> load(Path file) throws IOException {
        try {
            List<PoolEntry> list = JSON.readValue(Files.readString(file, StandardCharsets.UTF_8),
                new TypeReference<List<PoolEntry>>() { });
            return decode(encode(list));   // the same checks as for the wire
        } catch (IOException e) {
            throw new IOException("pool state file '" + file + "' is damaged: " + e.getMessage(), e);
        }
    }
}
