package io.l4mesh.hashring;

import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * An immutable Maglev lookup table (NSDI'16, section 3.4) over weighted backends.
 *
 * <p>Precondition: the table size M must be prime (the permutation {@code offset + j * skip mod M} visits
 * every slot only then); {@link #DEFAULT_SIZE} is 65537. Keep M at least 100 times the number of backends
 * ({@link #isUndersized}) for the paper's balance and disruption figures.
 *
 * <p>Usage:
 * <pre>{@code
 * MaglevTable t = MaglevTable.build(List.of(new Backend("10.0.0.1:80", 1), new Backend("10.0.0.2:80", 2)));
 * long h = FlowHash.ipv4(t.algorithm().flowSeed(), src, sport, dst, dport, FlowHash.PROTO_TCP);
 * Backend b = t.backend(t.lookup(h));
 * }</pre>
 *
 * <p>Threading: immutable; build it off the data path and share it by reference.
 */
public final class MaglevTable {
    /** The paper's table size, a prime. */
    public static final int DEFAULT_SIZE = 65537;
    /** M should be at least this many times the number of backends. */
    public static final int MIN_SLOTS_PER_BACKEND = 100;
    /** Returned by lookups on a table without any backend of non-zero weight. */
    public static final int NO_BACKEND = -1;

    private final HashAlgorithm algorithm;
    private final int size;
    private final Backend[] backends;
    private final int[] entries;
    private final long fingerprint;

    private MaglevTable(HashAlgorithm algorithm, int size, Backend[] backends, int[] entries, long fingerprint) {
        this.algorithm = algorithm;
        this.size = size;
        this.backends = backends;
        this.entries = entries;
        this.fingerprint = fingerprint;
    }

    /** Builds a table of {@link #DEFAULT_SIZE} with the latest algorithm. */
    public static MaglevTable build(Collection<Backend> backends) {
        return build(backends, DEFAULT_SIZE, HashAlgorithm.latest());
    }

    /**
     * Builds a table.
     *
     * @throws IllegalArgumentException if {@code size} is not prime or ids repeat
     */
    public static MaglevTable build(Collection<Backend> backends, int size, HashAlgorithm algorithm) {
        if (!Primes.isPrime(size)) {
            throw new IllegalArgumentException("maglev table size " + size + " is not prime");
        }
        Backend[] sorted = backends.toArray(new Backend[0]);
        Arrays.sort(sorted, Comparator.comparing(Backend::id));
        Set<String> seen = new HashSet<>();
        for (Backend b : sorted) {
            if (!seen.add(b.id())) {
                throw new IllegalArgumentException("duplicate backend id '" + b.id() + "'");
            }
        }
        int[] entries = populate(sorted, size, algorithm);
        return new MaglevTable(algorithm, size, sorted, entries, fingerprint(algorithm, size, sorted, entries));
    }

    /** True when {@code size} is below {@link #MIN_SLOTS_PER_BACKEND} times {@code backendCount}. */
    public static boolean isUndersized(int size, int backendCount) {
        return (long) size < (long) MIN_SLOTS_PER_BACKEND * backendCount;
    }

    private static int[] populate(Backend[] backends, int m, HashAlgorithm algorithm) {
        int[] entries = new int[m];
        Arrays.fill(entries, NO_BACKEND);
        int n = backends.length;
        int maxWeight = 0;
        for (Backend b : backends) {
            maxWeight = Math.max(maxWeight, b.weight());
        }
        if (maxWeight == 0) {
            return entries;
        }
        int[] skip = new int[n];
        int[] next = new int[n];
        long[] credit = new long[n];
        for (int i = 0; i < n; i++) {
            String id = backends[i].id();
            next[i] = (int) Long.remainderUnsigned(XxHash64.hash(id, algorithm.offsetSeed()), m);
            skip[i] = (int) Long.remainderUnsigned(XxHash64.hash(id, algorithm.skipSeed()), m - 1) + 1;
        }
        int filled = 0;
        while (true) {
            for (int i = 0; i < n; i++) {
                credit[i] += backends[i].weight();
                if (credit[i] < maxWeight) {
                    continue;
                }
                credit[i] -= maxWeight;
                int c = next[i];
                while (entries[c] != NO_BACKEND) {
                    c += skip[i];
                    if (c >= m) {
                        c -= m;
                    }
                }
                entries[c] = i;
                c += skip[i];
                next[i] = c >= m ? c - m : c;
                if (++filled == m) {
                    return entries;
                }
            }
        }
    }

    private static long fingerprint(HashAlgorithm algorithm, int m, Backend[] backends, int[] entries) {
        long seed = algorithm.fingerprintSeed();
        long[] idHash = new long[backends.length];
        for (int i = 0; i < backends.length; i++) {
            idHash[i] = XxHash64.hash(backends[i].id(), seed);
        }
        long h = XxHash64.mixLong(seed, m);
        for (int e : entries) {
            h = XxHash64.mixLong(h, e == NO_BACKEND ? 0 : idHash[e]);
        }
        return XxHash64.avalanche(h);
    }

    /** The index (into {@link #backends()}) of the backend for this flow hash, or {@link #NO_BACKEND}. */
    public int lookup(long flowHash) {
        return entries[(int) (((flowHash >>> 32) * size) >>> 32)];
    }

    /** The slot a flow hash falls into. */
    public int slotOf(long flowHash) {
        return (int) (((flowHash >>> 32) * size) >>> 32);
    }

    /** The backend index at a slot. */
    public int entry(int slot) {
        return entries[slot];
    }

    /** The backend at an index returned by {@link #lookup}. */
    public Backend backend(int index) {
        return backends[index];
    }

    /** Backends in table order (sorted by id), including those of weight 0. */
    public List<Backend> backends() {
        return List.of(backends);
    }

    public int size() {
        return size;
    }

    public HashAlgorithm algorithm() {
        return algorithm;
    }

    /** True when no backend has a non-zero weight: every lookup returns {@link #NO_BACKEND}. */
    public boolean isEmpty() {
        return entries[0] == NO_BACKEND;
    }

    /**
     * A 64-bit digest of the whole table (algorithm, size and, slot by slot, the id of the backend there). Two
     * nodes with equal fingerprints send every flow to the same backend.
     */
    public long fingerprint() {
        return fingerprint;
    }

    /** Slots held by each backend, indexed like {@link #backends()}. */
    public int[] slotCounts() {
        int[] counts = new int[backends.length];
        for (int e : entries) {
            if (e != NO_BACKEND) {
                counts[e]++;
            }
        }
        return counts;
    }

    /** Number of slots whose backend id differs between two tables of the same size. */
    public static int changedSlots(MaglevTable a, MaglevTable b) {
        if (a.size != b.size) {
            throw new IllegalArgumentException("tables differ in size: " + a.size + " vs " + b.size);
        }
        int changed = 0;
        for (int i = 0; i < a.size; i++) {
            int ea = a.entries[i];
            int eb = b.entries[i];
            String ia = ea == NO_BACKEND ? null : a.backends[ea].id();
            String ib = eb == NO_BACKEND ? null : b.backends[eb].id();
            if (ia == null ? ib != null : !ia.equals(ib)) {
                changed++;
            }
        }
        return changed;
    }

    @Override
    public String toString() {
        return "MaglevTable{" + algorithm.id() + ", M=" + size + ", backends=" + backends.length
            + ", fingerprint=" + String.format("%016x", fingerprint) + "}";
    }
}
