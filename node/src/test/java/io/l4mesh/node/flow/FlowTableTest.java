package io.l4mesh.node.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class FlowTableTest {
    private static final int[] TIMEOUTS = {1, 30, 900, 60};

    private record Key(long hi, long lo, int ports) {
    }

    @Test
    void agreesWithAMapUnderRandomInsertsAndRemovals() {
        try (FlowTable t = new FlowTable(3000, TIMEOUTS, false)) {
            Map<Key, Integer> model = new HashMap<>();
            SplittableRandom rnd = new SplittableRandom(7);
            for (int op = 0; op < 200_000; op++) {
                // few distinct keys and clustered hashes: long probe runs, many shifts on removal
                Key k = new Key(rnd.nextInt(3) , 0xFFFF_0000_0000L | rnd.nextInt(2000), FlowTable.ports(rnd.nextInt(3),
                    80));
                long slot = t.find(k.hi, k.lo, k.ports);
                assertEquals(model.containsKey(k), slot >= 0, "presence of " + k);
                if (slot >= 0) {
                    assertEquals((int) model.get(k), t.backendId(slot));
                    if (rnd.nextBoolean()) {
                        t.remove(slot);
                        model.remove(k);
                    }
                } else if (model.size() < 3000) {
                    int b = rnd.nextInt();
                    assertTrue(t.insert(k.hi, k.lo, k.ports, b, 1, FlowTable.ESTABLISHED, 0) >= 0);
                    model.put(k, b);
                }
                assertEquals(model.size(), t.size());
            }
            for (var e : model.entrySet()) {
                long slot = t.find(e.getKey().hi, e.getKey().lo, e.getKey().ports);
                assertTrue(slot >= 0);
                assertEquals((int) e.getValue(), t.backendId(slot));
            }
        }
    }

    /**
     * The occupancy listener hears of every flow entering and leaving, however it leaves (removal, a new backend,
     * expiry by the sweep, eviction under a full table, close): its counts per backend always match the table's.
     */
    @Test
    void occupancyCountsEveryFlowByBackend() {
        Map<Integer, Integer> heard = new HashMap<>();
        FlowTable t = new FlowTable(500, TIMEOUTS, false);
        t.occupancy((backend, delta) -> heard.merge(backend, delta, Integer::sum));
        SplittableRandom rnd = new SplittableRandom(11);
        int now = 0;
        for (int op = 0; op < 50_000; op++) {
            Key k = new Key(0, 0xFFFF_0000_0000L | rnd.nextInt(800), FlowTable.ports(rnd.nextInt(2), 80));
            long slot = t.find(k.hi, k.lo, k.ports);
            int b = 1 + rnd.nextInt(4);
            int what = rnd.nextInt(10);
            if (slot < 0) {
                t.insert(k.hi, k.lo, k.ports, b, 1, what < 3 ? FlowTable.SYN_SEEN : FlowTable.ESTABLISHED, now);
            } else if (what < 3) {
                t.remove(slot);
            } else if (what < 6) {
                t.update(slot, b, 2, FlowTable.ESTABLISHED, now);
            }
            if (op % 1000 == 0) {
                now += 10;                       // SYN_SEEN entries (30 s) expire; the sweep removes them
                t.sweep(now, 200, null);
            }
            if (op % 5000 == 0) {
                assertEquals(counts(t), heard.entrySet().stream().filter(e -> e.getValue() != 0)
                    .collect(java.util.stream.Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue)), "at " + op);
            }
        }
        assertTrue(t.evictedPressure() + t.evictedExpired() > 0, "evictions and expiry were exercised");
        t.close();
        assertTrue(heard.values().stream().allMatch(v -> v == 0), "closing lets every flow go: " + heard);
    }

    /** Entries per backend id, read slot by slot. */
    private static Map<Integer, Integer> counts(FlowTable t) {
        Map<Integer, Integer> c = new HashMap<>();
        for (long slot = 0; slot < t.capacity(); slot++) {
            if (t.state(slot) != FlowTable.EMPTY) {
                c.merge(t.backendId(slot), 1, Integer::sum);
            }
        }
        return c;
    }

    @Test
    void atMostFortyThreeBytesPerFlowIncludingTheIndex() {
        try (FlowTable t = new FlowTable(1_000_000, TIMEOUTS, false)) {
            double perFlow = (double) t.bytes() / t.maxEntries();
            assertTrue(perFlow <= 43, "bytes per flow " + perFlow);
        }
    }

    @Test
    void entriesExpireByStateLazilyAndBySweep() {
        try (FlowTable t = new FlowTable(100, TIMEOUTS, false)) {
            long syn = t.insert(0, 1, 1, 11, 1, FlowTable.SYN_SEEN, 1000);
            long est = t.insert(0, 2, 1, 12, 1, FlowTable.ESTABLISHED, 1000);
            long fin = t.insert(0, 3, 1, 13, 1, FlowTable.CLOSING, 1000);
            assertFalse(t.isExpired(syn, 1030));
            assertTrue(t.isExpired(syn, 1031));
            assertFalse(t.isExpired(fin, 1060));
            assertTrue(t.isExpired(fin, 1061));
            assertFalse(t.isExpired(est, 1900));
            assertEquals(2, t.sweep(1100, t.capacity(), null));
            assertEquals(1, t.size());
            assertTrue(t.find(0, 2, 1) >= 0);
            t.touch(t.find(0, 2, 1), 1800, FlowTable.ESTABLISHED);
            assertEquals(0, t.sweep(2600, t.capacity(), null), "touched at 1800, 900 s timeout");
            assertEquals(1, t.sweep(2701, t.capacity(), null));
            assertEquals(3, t.evictedExpired());
        }
    }

    @Test
    void theSweepHandsOnEachFlowSeenSinceItLastPassedOnce() {
        try (FlowTable t = new FlowTable(100, TIMEOUTS, false)) {
            for (int i = 0; i < 10; i++) {
                t.insert(0, i, 1, 100 + i, 7, FlowTable.ESTABLISHED, 50);
            }
            java.util.List<Integer> seen = new java.util.ArrayList<>();
            FlowTable.Visitor v = (hi, lo, ports, backend, version, state) -> seen.add(backend);
            t.sweep(60, t.capacity(), v);
            assertEquals(10, seen.size(), "every new flow is active once");
            seen.clear();
            t.sweep(61, t.capacity(), v);
            assertEquals(0, seen.size(), "nothing seen since");
            t.touch(t.find(0, 3, 1), 62, FlowTable.ESTABLISHED);
            t.sweep(63, t.capacity(), v);
            assertEquals(java.util.List.of(103), seen, "only the flow seen again");
        }
    }

    @Test
    void theWrappingClockStillExpires() {
        try (FlowTable t = new FlowTable(10, TIMEOUTS, false)) {
            int near = (1 << 20) - 5;
            long slot = t.insert(0, 1, 1, 11, 1, FlowTable.SYN_SEEN, near);
            assertFalse(t.isExpired(slot, near + 20));
            assertTrue(t.isExpired(slot, near + 40));
        }
    }

    @Test
    void aFullTableEvictsByClockAndCountsWhatItCannotPlace() {
        try (FlowTable t = new FlowTable(64, TIMEOUTS, false)) {
            for (int i = 0; i < 64; i++) {
                assertTrue(t.insert(0, i, 1, i, 1, FlowTable.ESTABLISHED, 0) >= 0);
            }
            // every entry was just used (ref set): CLOCK clears the bits on its first lap and takes a victim
            assertTrue(t.insert(0, 1000, 1, 7, 1, FlowTable.ESTABLISHED, 0) >= 0);
            assertEquals(64, t.size());
            assertEquals(1, t.evictedPressure());
            // the recently touched survive: touch all survivors, the next insert takes an untouched one or fails
            for (int i = 1001; i < 1100; i++) {
                t.insert(0, i, 1, 7, 1, FlowTable.ESTABLISHED, 0);
            }
            assertEquals(64, t.size());
            assertTrue(t.evictedPressure() > 1);
            assertEquals(0, t.insertFailures());
        }
        try (FlowTable t = new FlowTable(2000, TIMEOUTS, false)) {
            for (int i = 0; i < 2000; i++) {
                t.insert(0, i, 1, i, 1, FlowTable.ESTABLISHED, 0);
            }
            // CLOCK's scan is bounded: with every ref bit set and a lap longer than the scan, the insert fails
            assertTrue(t.capacity() > FlowTable.EVICTION_SCAN);
            assertTrue(t.insert(0, 5000, 1, 1, 1, FlowTable.ESTABLISHED, 0) < 0);
            assertEquals(1, t.insertFailures());
            // each attempt clears the ref bits it passes: once the hand has gone round, a victim turns up
            int attempts = 1;
            while (t.insert(0, 5000, 1, 1, 1, FlowTable.ESTABLISHED, 0) < 0) {
                attempts++;
            }
            assertTrue(attempts <= t.capacity() / FlowTable.EVICTION_SCAN + 2, "attempts " + attempts);
            assertEquals(attempts, t.insertFailures());
        }
    }

    @Test
    void upsertKeepsTheNewerDecision() {
        try (FlowTable t = new FlowTable(10, TIMEOUTS, true)) {
            assertEquals(FlowTable.INSERTED, t.upsert(0, 1, 1, 5, 100, FlowTable.SYN_SEEN, 0));
            assertEquals(FlowTable.STALE, t.upsert(0, 1, 1, 6, 99, FlowTable.SYN_SEEN, 0));
            assertEquals(FlowTable.UNCHANGED, t.upsert(0, 1, 1, 5, 100, FlowTable.ESTABLISHED, 0));
            assertEquals(FlowTable.UPDATED, t.upsert(0, 1, 1, 6, 100, FlowTable.ESTABLISHED, 0), "tie: higher id");
            assertEquals(FlowTable.STALE, t.upsert(0, 1, 1, 5, 100, FlowTable.ESTABLISHED, 0));
            assertEquals(FlowTable.UPDATED, t.upsert(0, 1, 1, 9, 101, FlowTable.ESTABLISHED, 0));
            long[] out = new long[3];
            assertTrue(t.read(0, 1, 1, 0, out));
            assertEquals(9, out[0]);
            assertEquals(101, out[1]);
            assertEquals(FlowTable.ESTABLISHED, out[2]);
        }
    }

    @Test
    void readersOnOtherThreadsNeverSeeATornEntry() throws Exception {
        try (FlowTable t = new FlowTable(5000, TIMEOUTS, true)) {
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong reads = new AtomicLong();
            AtomicLong bad = new AtomicLong();
            Thread reader = Thread.ofPlatform().start(() -> {
                long[] out = new long[3];
                SplittableRandom rnd = new SplittableRandom(3);
                while (!stop.get()) {
                    int k = rnd.nextInt(6000);
                    if (t.read(k, 0xABCDL * k, k & 0xFFFF, 0, out)) {
                        // the writer always stores backend id = key * 31 + version and keeps them together
                        if (out[0] != (int) (k * 31L + out[1])) {
                            bad.incrementAndGet();
                        }
                    }
                    reads.incrementAndGet();
                }
            });
            SplittableRandom rnd = new SplittableRandom(5);
            for (int op = 0; op < 2_000_000; op++) {
                int k = rnd.nextInt(6000);
                long slot = t.find(k, 0xABCDL * k, k & 0xFFFF);
                long version = op;
                if (slot >= 0 && rnd.nextInt(4) == 0) {
                    t.remove(slot);
                } else if (slot >= 0) {
                    t.update(slot, (int) (k * 31L + version), version, FlowTable.ESTABLISHED, 0);
                } else {
                    t.insert(k, 0xABCDL * k, k & 0xFFFF, (int) (k * 31L + version), version, FlowTable.ESTABLISHED, 0);
                }
            }
            stop.set(true);
            reader.join();
            assertTrue(reads.get() > 0);
            assertEquals(0, bad.get(), "torn reads");
        }
    }
}
