package io.l4mesh.node.mesh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PoolLedgerTest {
    @TempDir
    Path dir;

    private static PoolEntry e(String backend, int weight, boolean deleted, long stamp, String origin) {
        return new PoolEntry("web", backend, weight, false, deleted, stamp, origin);
    }

    @Test
    void lastWriterWinsTheSameWayInAnyOrder() {
        List<PoolEntry> writes = List.of(e("10.0.0.1:80", 1, false, 5, "a"), e("10.0.0.1:80", 7, false, 9, "b"),
            e("10.0.0.1:80", 3, false, 9, "a"), e("10.0.0.1:80", 0, true, 8, "c"));
        PoolLedger forward = new PoolLedger();
        writes.forEach(forward::merge);
        PoolLedger backward = new PoolLedger();
        writes.reversed().forEach(backward::merge);
        assertEquals(forward.digest(), backward.digest());
        PoolEntry win = forward.get("web", "10.0.0.1:80");
        assertEquals(7, win.weight(), "stamp 9 wins; between equal stamps the larger origin wins");
        assertFalse(forward.merge(e("10.0.0.1:80", 9, false, 4, "z")), "older writes lose");
    }

    @Test
    void hlcOrdersCausallyAcrossSkewedClocks() {
        Hlc fast = new Hlc();
        Hlc slow = new Hlc();
        long a = fast.now(10_000);
        slow.observe(a);
        long b = slow.now(9_000);      // this node's wall clock is behind, but it saw a
        assertTrue(b > a);
        assertTrue(fast.now(10_000) > a, "stamps only grow");
    }

    @Test
    void tombstonesAreCollectedAfterTheirTtl() {
        PoolLedger l = new PoolLedger();
        long now = 10 * PoolLedger.TOMBSTONE_TTL_MS;
        l.merge(e("10.0.0.1:80", 1, true, (now - PoolLedger.TOMBSTONE_TTL_MS - 1) << 16, "a"));
        l.merge(e("10.0.0.2:80", 1, true, (now - 1000) << 16, "a"));
        l.merge(e("10.0.0.3:80", 1, false, 1, "a"));
        assertEquals(1, l.collect(now));
        assertEquals(2, l.size());
    }

    @Test
    void wireAndFileRoundTrip() throws IOException {
        PoolLedger l = new PoolLedger();
        l.merge(e("10.0.0.1:80", 2, false, 77, "n1"));
        l.merge(new PoolEntry("db", "[fd00::1]:5432", 1, true, false, 78, "n2"));
        List<PoolEntry> back = PoolLedger.decode(PoolLedger.encode(l.entries()));
        assertEquals(List.copyOf(l.entries()), back);
        Path f = dir.resolve("s/pool-state.json");
        l.save(f);
        PoolLedger loaded = new PoolLedger();
        PoolLedger.load(f).forEach(loaded::merge);
        assertEquals(l.digest(), loaded.digest());
        Files.writeString(f, "[{\"pool\": \"web\"");
        IOException ex = assertThrows(IOException.class, () -> PoolLedger.load(f));
        assertTrue(ex.getMessage().startsWith("pool state file '"), ex.getMessage());
    }

    @Test
    void hostileBytesAreRefusedNotCrashedOn() {
        Random r = new Random(4);
        byte[] good = PoolLedger.encode(List.of(e("10.0.0.1:80", 2, false, 77, "n1")));
        for (int i = 0; i < 2000; i++) {
            byte[] b = good.clone();
            b[r.nextInt(b.length)] = (byte) r.nextInt(256);
            byte[] cut = java.util.Arrays.copyOf(b, r.nextInt(b.length + 1));
            for (byte[] x : List.of(b, cut)) {
                try {
                    List<PoolEntry> out = PoolLedger.decode(x);
                    out.forEach(p -> assertTrue(p.weight() >= 0 && !p.pool().isEmpty()));
                } catch (IOException expected) {
                    // refused: what must happen to most of them
                }
            }
        }
        byte[] huge = {1, 0x7f, (byte) 0xff, (byte) 0xff, (byte) 0xff};
        assertThrows(IOException.class, () -> PoolLedger.decode(huge));
        assertNotEquals(0, good.length);
    }
}
