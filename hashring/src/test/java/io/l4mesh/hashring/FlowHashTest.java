package io.l4mesh.hashring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class FlowHashTest {
    private static final long SEED = HashAlgorithm.MAGLEV_V1.flowSeed();

    /** Golden value: a change here remaps every flow, so it needs a new algorithm version. */
    @Test
    void goldenValue() {
        long h = FlowHash.ipv4(SEED, 0xC6120001, 40000, 0xC6120101, 443, FlowHash.PROTO_TCP);
        assertEquals("6a4c279584946dc1", String.format("%016x", h));
    }

    @Test
    void ipv4AndMappedIpv6HashAlike() throws Exception {
        byte[] src = InetAddress.getByName("198.18.0.1").getAddress();
        byte[] dst = InetAddress.getByName("198.18.1.1").getAddress();
        byte[] src6 = new byte[16];
        byte[] dst6 = new byte[16];
        src6[10] = src6[11] = dst6[10] = dst6[11] = (byte) 0xFF;
        System.arraycopy(src, 0, src6, 12, 4);
        System.arraycopy(dst, 0, dst6, 12, 4);
        long v4 = FlowHash.ipv4(SEED, 0xC6120001, 40000, 0xC6120101, 443, FlowHash.PROTO_TCP);
        assertEquals(v4, FlowHash.of(SEED, src, 40000, dst, 443, FlowHash.PROTO_TCP));
        assertEquals(v4, FlowHash.of(SEED, src6, 40000, dst6, 443, FlowHash.PROTO_TCP));
    }

    @Test
    void everyFieldAndTheSeedMatter() {
        long base = FlowHash.ipv4(SEED, 1, 2, 3, 4, 6);
        assertNotEquals(base, FlowHash.ipv4(SEED, 9, 2, 3, 4, 6));
        assertNotEquals(base, FlowHash.ipv4(SEED, 1, 9, 3, 4, 6));
        assertNotEquals(base, FlowHash.ipv4(SEED, 1, 2, 9, 4, 6));
        assertNotEquals(base, FlowHash.ipv4(SEED, 1, 2, 3, 9, 6));
        assertNotEquals(base, FlowHash.ipv4(SEED, 1, 2, 3, 4, 17));
        assertNotEquals(base, FlowHash.ipv4(SEED + 1, 1, 2, 3, 4, 6));
        assertNotEquals(base, FlowHash.ipv4(SEED, 3, 4, 1, 2, 6), "direction matters");
    }

    @Test
    void highPortsKeepEveryFieldSignificant() {
        // Ports at or above 32768 must not sign-extend over the other fields of their lane.
        Set<Long> seen = new HashSet<>();
        for (int port = 50000; port < 50100; port++) {
            assertTrue(seen.add(FlowHash.ipv4(SEED, 0x7F000001, port, 0x7F000001, 40000, 6)), "port " + port);
        }
        assertNotEquals(FlowHash.ipv4(SEED, 1, 2, 3, 65535, 6), FlowHash.ipv4(SEED, 1, 3, 3, 65535, 6));
        assertNotEquals(FlowHash.ipv4(SEED, 1, 2, 3, 65535, 6), FlowHash.ipv4(SEED, 1, 2, 3, 65535, 17));
    }

    @Test
    void sourcePortsSpreadOverTheTable() {
        MaglevTable t = MaglevTable.build(java.util.List.of(
            new Backend("a", 1), new Backend("b", 1), new Backend("c", 1), new Backend("d", 1)));
        int[] hits = new int[4];
        for (int port = 1024; port < 1024 + 40_000; port++) {
            hits[t.lookup(FlowHash.ipv4(SEED, 0x7F000001, port, 0x7F000001, 40_000, 6))]++;
        }
        for (int h : hits) {
            assertEquals(10_000, h, 500, "each of 4 backends takes about a quarter");
        }
    }

    @Test
    void fallbackIsDeterministicAndDistinct() {
        long h = FlowHash.ipv4(SEED, 1, 2, 3, 4, 6);
        assertEquals(h, FlowHash.fallback(h, 0));
        Set<Long> seen = new HashSet<>();
        for (int i = 0; i < 16; i++) {
            assertTrue(seen.add(FlowHash.fallback(h, i)));
            assertEquals(FlowHash.fallback(h, i), FlowHash.fallback(h, i));
        }
    }
}
