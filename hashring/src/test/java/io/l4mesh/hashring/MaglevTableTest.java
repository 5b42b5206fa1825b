package io.l4mesh.hashring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class MaglevTableTest {
    private static final int M = MaglevTable.DEFAULT_SIZE;

    /**
     * The fingerprint of this fixed list is part of the algorithm's contract: if this test fails, flows would be
     * remapped on upgrade. Change the algorithm by adding a new {@link HashAlgorithm}, never by editing v1.
     */
    private static final long GOLDEN_FINGERPRINT_V1 = 0x0df01de52882977fL;

    private static List<Backend> equal(int n) {
        List<Backend> list = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            list.add(new Backend("10.0." + (i / 250) + "." + (i % 250 + 1) + ":8080", 1));
        }
        return list;
    }

    @Test
    void goldenFingerprintIsStable() {
        MaglevTable t = MaglevTable.build(List.of(
            new Backend("10.0.0.1:80", 1), new Backend("10.0.0.2:80", 2), new Backend("10.0.0.3:80", 1),
            new Backend("[fd00::4]:80", 3), new Backend("db.internal:5432", 0)));
        assertEquals(String.format("%016x", GOLDEN_FINGERPRINT_V1), String.format("%016x", t.fingerprint()));
    }

    @Test
    void inputOrderDoesNotMatter() {
        List<Backend> list = equal(50);
        MaglevTable a = MaglevTable.build(list);
        List<Backend> shuffled = new ArrayList<>(list);
        Collections.shuffle(shuffled, new Random(7));
        MaglevTable b = MaglevTable.build(shuffled);
        assertEquals(a.fingerprint(), b.fingerprint());
        assertEquals(0, MaglevTable.changedSlots(a, b));
    }

    @Test
    void fingerprintSeesWeightAndMembership() {
        List<Backend> list = new ArrayList<>(equal(5));
        long base = MaglevTable.build(list).fingerprint();
        list.set(2, new Backend(list.get(2).id(), 2));
        assertNotEquals(base, MaglevTable.build(list).fingerprint());
    }

    @ParameterizedTest(name = "N={0}")
    @ValueSource(ints = {1, 2, 3, 10, 100, 650})
    void equalWeightsDifferByAtMostOneSlot(int n) {
        int[] counts = MaglevTable.build(equal(n)).slotCounts();
        int min = Integer.MAX_VALUE;
        int max = 0;
        for (int c : counts) {
            min = Math.min(min, c);
            max = Math.max(max, c);
        }
        assertTrue(max - min <= 1, "min " + min + " max " + max);
        assertEquals(M / n, min);
    }

    @ParameterizedTest(name = "N={0}")
    @ValueSource(ints = {2, 5, 10, 100, 300, 650})
    void weightedShareWithinTwoTenthsOfAPercent(int n) {
        Random random = new Random(n);
        List<Backend> list = new ArrayList<>();
        long total = 0;
        for (int i = 0; i < n; i++) {
            int w = 1 + random.nextInt(10);
            total += w;
            list.add(new Backend("backend-" + i, w));
        }
        MaglevTable t = MaglevTable.build(list);
        int[] counts = t.slotCounts();
        double worst = 0;
        for (int i = 0; i < counts.length; i++) {
            double expected = (double) t.backend(i).weight() / total;
            double actual = (double) counts[i] / M;
            worst = Math.max(worst, Math.abs(actual - expected));
            // Stronger than the 0.2% bound: within two slots of the exact weighted share.
            assertTrue(Math.abs(counts[i] - expected * M) <= 2.0,
                t.backend(i) + " has " + counts[i] + " slots, expected " + expected * M);
        }
        assertTrue(worst <= 0.002, "worst share error " + worst);
    }

    @Test
    void weightTwoTakesTwiceTheSlotsAndZeroTakesNone() {
        MaglevTable t = MaglevTable.build(List.of(
            new Backend("a", 1), new Backend("b", 2), new Backend("c", 0), new Backend("d", 1)));
        int[] c = t.slotCounts();
        assertEquals(0, c[2]);
        assertEquals(2.0, (double) c[1] / c[0], 0.001);
        assertEquals(c[0], c[3], 1);
    }

    @Test
    void removingOneOfHundredMovesFewSlots() {
        List<Backend> list = equal(100);
        MaglevTable before = MaglevTable.build(list);
        List<Backend> fewer = new ArrayList<>(list);
        fewer.remove(37);
        double changed = (double) MaglevTable.changedSlots(before, MaglevTable.build(fewer)) / M;
        System.out.printf("maglev: removing 1 of 100 changed %.3f%% of slots%n", changed * 100);
        assertTrue(changed <= 0.017, "removal changed " + changed);
    }

    @Test
    void addingOneToHundredMovesFewSlots() {
        List<Backend> list = equal(100);
        MaglevTable before = MaglevTable.build(list);
        List<Backend> more = new ArrayList<>(list);
        more.add(new Backend("10.9.9.9:8080", 1));
        double changed = (double) MaglevTable.changedSlots(before, MaglevTable.build(more)) / M;
        System.out.printf("maglev: adding 1 to 100 changed %.3f%% of slots%n", changed * 100);
        assertTrue(changed <= 0.017, "addition changed " + changed);
    }

    @Test
    void zeroWeightBackendTakesNoSlotsAndDoesNotDisturbOthers() {
        List<Backend> list = equal(10);
        MaglevTable before = MaglevTable.build(list);
        List<Backend> drained = new ArrayList<>(list);
        drained.add(new Backend("10.9.9.9:8080", 0));
        assertEquals(0, MaglevTable.changedSlots(before, MaglevTable.build(drained)));
    }

    @Test
    void emptyTableAnswersNoBackend() {
        MaglevTable t = MaglevTable.build(List.of(new Backend("a", 0)));
        assertTrue(t.isEmpty());
        assertEquals(MaglevTable.NO_BACKEND, t.lookup(12345L));
        assertTrue(MaglevTable.build(List.of()).isEmpty());
    }

    @Test
    void rejectsNonPrimeSizeAndDuplicates() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> MaglevTable.build(equal(3), 65536, HashAlgorithm.MAGLEV_V1));
        assertEquals("maglev table size 65536 is not prime", e.getMessage());
        assertThrows(IllegalArgumentException.class,
            () -> MaglevTable.build(List.of(new Backend("a", 1), new Backend("a", 2))));
        assertTrue(MaglevTable.isUndersized(1009, 11));
        assertTrue(!MaglevTable.isUndersized(65537, 655));
    }

    @Test
    void smallPrimeTablesWork() {
        MaglevTable t = MaglevTable.build(equal(3), 7, HashAlgorithm.MAGLEV_V1);
        int[] c = t.slotCounts();
        assertEquals(7, c[0] + c[1] + c[2]);
    }
}
