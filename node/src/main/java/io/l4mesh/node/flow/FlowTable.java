package io.l4mesh.node.flow;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A bounded flow table in off-heap memory: open addressing with linear probing over 32-byte slots, no object per
 * flow and no separate index. It is at most 3/4 full, so a flow costs at most 32 / 0.75 = 42.7 bytes including the
 * empty slots that keep probes short (10 million flows: 427 MB).
 *
 * <p>The key is a flow of one VIP: the client's address (IPv4 in its IPv4-mapped form, so both families share one
 * layout), the client's port and the VIP's port. The protocol and the VIP address belong to the table's listener.
 *
 * <pre>
 * word 0: source address, high 64 bits
 * word 1: source address, low 64 bits
 * word 2: source port (16) | destination port (16) | backend id (32)
 * word 3: version (40, ms since {@link #VERSION_EPOCH_MS}) | last seen (20, s) | ref | active | state (2)
 * </pre>
 *
 * State 0 marks an empty slot. "Last seen" is a 20-bit wrapping second counter: ages are computed modulo 2^20 s
 * (12 days), which is safe because every timeout is below 2^19 s and {@link #sweep} visits every entry far more
 * often than that. The ref bit is CLOCK's "used since the hand passed"; the active bit is "seen since the sweep
 * passed" (the owner re-announces such entries to its peers so their copies do not time out).
 *
 * <p>Expiry is lazy (a lookup that finds an expired entry treats it as a miss) and incremental ({@link #sweep}).
 * When the table holds {@code maxEntries}, an insert first evicts one entry by CLOCK (expired entries first, then
 * the first one whose ref bit is clear); if no victim turns up within {@link #EVICTION_SCAN} slots the insert fails
 * and the caller forwards the flow by hash alone. Removal shifts later entries of the probe run back, so there are
 * no tombstones.
 *
 * <p>Threading: one owner thread makes every change. A table made {@code shared} may also be read by other
 * threads through {@link #read}, which a sequence lock keeps consistent (the owner bumps it around each change).
 */
public final class FlowTable implements AutoCloseable {
    public static final int SLOT_BYTES = 32;
    /** Largest fill: 3/4, so a miss probes about 8 slots on average and a hit about 2.5. */
    public static final double MAX_LOAD = 0.75;
    /** Slots CLOCK inspects for a victim before an insert gives up. */
    static final int EVICTION_SCAN = 512;
    /** Versions are milliseconds since 2025-01-01 UTC in 40 bits (34 years). */
    public static final long VERSION_EPOCH_MS = 1_735_689_600_000L;
    public static final long VERSION_MASK = (1L << 40) - 1;
    /** Largest timeout a state may have (the 20-bit clock wraps at 2^20 s); config checks it. */
    public static final int MAX_TIMEOUT_SECONDS = io.l4mesh.node.config.FlowTableConfig.MAX_TIMEOUT_SECONDS;

    public static final int EMPTY = 0;
    public static final int SYN_SEEN = 1;
    public static final int ESTABLISHED = 2;
    public static final int CLOSING = 3;

    /**
     * Told of every flow that enters or leaves the table, by backend id, on the owner's thread (so a node can say
     * how many flows each backend carries in packet mode). Must not touch the table.
     */
    @FunctionalInterface
    public interface Occupancy {
        void changed(int backendId, int delta);
    }

    /** {@link #upsert} results. */
    public static final int INSERTED = 0;
    public static final int UPDATED = 1;
    public static final int UNCHANGED = 2;
    public static final int STALE = 3;
    public static final int FULL = 4;

    private static final long SEEN_MASK = (1L << 20) - 1;
    private static final long REF = 1L << 3;
    private static final long ACTIVE = 1L << 2;
    private static final long STATE_MASK = 3L;
    private static final VarHandle SEQ;

    static {
        try {
            SEQ = MethodHandles.lookup().findVarHandle(FlowTable.class, "seq", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Receives the entries a {@link #sweep} hands on. */
    @FunctionalInterface
    public interface Visitor {
        void visit(long srcHi, long srcLo, int ports, int backendId, long version, int state);
    }

    private final Arena arena;
    private final MemorySegment mem;
    private final long capacity;
    private final long maxEntries;
    private final int[] timeouts;
    private final boolean shared;
    @SuppressWarnings("unused")   // through SEQ
    private volatile long seq;
    private long size;
    private long hand;
    private long sweepCursor;
    private long evictedExpired;
    private long evictedPressure;
    private long insertFailures;

    /**
     * @param maxEntries most flows held (at least 1)
     * @param timeouts   idle timeout in seconds per state, indexed by state ({@link #SYN_SEEN}, {@link #ESTABLISHED},
     *                   {@link #CLOSING}); index 0 is unused
     * @param shared     whether other threads read it through {@link #read}
     */
    /** The owner's occupancy listener, or null. */
    private Occupancy occupancy;

    /** Tells {@code o} of every flow that enters or leaves from now on (owner thread; null: nobody). */
    public void occupancy(Occupancy o) {
        this.occupancy = o;
    }

    private void occupied(int backendId, int delta) {
        Occupancy o = occupancy;
        if (o != null) {
            o.changed(backendId, delta);
        }
    }

    public FlowTable(long maxEntries, int[] timeouts, boolean shared) {
        if (maxEntries < 1) {
            throw new IllegalArgumentException("maxEntries must be at least 1");
        }
        if (timeouts.length != 4) {
            throw new IllegalArgumentException("one timeout per state");
        }
        for (int s = 1; s < 4; s++) {
            if (timeouts[s] < 1 || timeouts[s] > MAX_TIMEOUT_SECONDS) {
                throw new IllegalArgumentException("timeout " + timeouts[s] + " s is not in 1.." + MAX_TIMEOUT_SECONDS);
            }
        }
        this.maxEntries = maxEntries;
        this.capacity = Math.max(2, (long) Math.ceil(maxEntries / MAX_LOAD));
        this.timeouts = timeouts.clone();
        this.shared = shared;
        this.arena = Arena.ofShared();
        this.mem = arena.allocate(capacity * SLOT_BYTES, 64);
    }

    /** Bytes of memory the table holds (whatever its fill). */
    public long bytes() {
        return capacity * SLOT_BYTES;
    }

    public long capacity() {
        return capacity;
    }

    public long maxEntries() {
        return maxEntries;
    }

    /** Entries held. Owner thread (others see a recent value). */
    public long size() {
        return size;
    }

    public long evictedExpired() {
        return evictedExpired;
    }

    public long evictedPressure() {
        return evictedPressure;
    }

    /** Inserts that found the table full and no victim (the flow went by hash alone). */
    public long insertFailures() {
        return insertFailures;
    }

    /** Packs the two ports as the table stores them. */
    public static int ports(int srcPort, int dstPort) {
        return (srcPort & 0xFFFF) << 16 | dstPort & 0xFFFF;
    }

    /** The high key word of a client address (4 or 16 bytes, network order): IPv4 maps into IPv6's space. */
    public static long keyHi(byte[] address) {
        if (address.length == 4) {
            return 0;
        }
        return java.nio.ByteBuffer.wrap(address).getLong(0);
    }

    /** The low key word of a client address (4 or 16 bytes): IPv4 as {@code ::ffff:a.b.c.d}. */
    public static long keyLo(byte[] address) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(address);
        return address.length == 4 ? 0x0000FFFF_00000000L | (b.getInt(0) & 0xFFFFFFFFL) : b.getLong(8);
    }

    /** A version for a decision made now. */
    public static long versionNow() {
        return (System.currentTimeMillis() - VERSION_EPOCH_MS) & VERSION_MASK;
    }

    // ---------------------------------------------------------------- slots

    private long w(long slot, int word) {
        return mem.get(ValueLayout.JAVA_LONG, slot * SLOT_BYTES + word * 8L);
    }

    private void set(long slot, int word, long v) {
        mem.set(ValueLayout.JAVA_LONG, slot * SLOT_BYTES + word * 8L, v);
    }

    private static long hash(long hi, long lo, int ports) {
        long h = hi * 0x9E3779B97F4A7C15L ^ Long.rotateLeft(lo * 0xC2B2AE3D27D4EB4FL, 31) ^ ports * 0x165667B19E3779F9L;
        h ^= h >>> 29;
        h *= 0xBF58476D1CE4E5B9L;
        return h ^ h >>> 32;
    }

    private long home(long hi, long lo, int ports) {
        return Math.unsignedMultiplyHigh(hash(hi, lo, ports), capacity);
    }

    private long next(long slot) {
        return slot + 1 == capacity ? 0 : slot + 1;
    }

    private static int stateOf(long w3) {
        return (int) (w3 & STATE_MASK);
    }

    private boolean expired(long w3, int now) {
        long age = (now - (w3 >>> 4)) & SEEN_MASK;
        return age > timeouts[stateOf(w3)];
    }

    private static long word3(long version, int now, int state, long flags) {
        return (version & VERSION_MASK) << 24 | (now & SEEN_MASK) << 4 | flags | state & STATE_MASK;
    }

    // ---------------------------------------------------------------- owner operations

    /** The slot holding this flow, or -1. */
    public long find(long srcHi, long srcLo, int ports) {
        long slot = home(srcHi, srcLo, ports);
        for (long i = 0; i < capacity; i++) {
            long w3 = w(slot, 3);
            if (stateOf(w3) == EMPTY) {
                return -1;
            }
            if (w(slot, 1) == srcLo && w(slot, 0) == srcHi && FlowEntry.ports(w(slot, 2)) == ports) {
                return slot;
            }
            slot = next(slot);
        }
        return -1;
    }

    public int backendId(long slot) {
        return (int) w(slot, 2);
    }

    public int state(long slot) {
        return stateOf(w(slot, 3));
    }

    public long version(long slot) {
        return versionOf(w(slot, 3));
    }

    /** Whether the entry in {@code slot} has outlived its state's timeout at second {@code now}. */
    public boolean isExpired(long slot, int now) {
        return expired(w(slot, 3), now);
    }

    /** Records a packet of the flow: last seen, CLOCK's ref bit, the sweep's active bit, and its (new) state. */
    public void touch(long slot, int now, int state) {
        long w3 = w(slot, 3);
        long next = (w3 & ~(SEEN_MASK << 4 | STATE_MASK)) | (now & SEEN_MASK) << 4 | REF | ACTIVE | state & STATE_MASK;
        if (next != w3) {
            begin();
            set(slot, 3, next);
            end();
        }
    }

    /** Gives the flow in {@code slot} a new backend (a rehash), as a decision of {@code version}. */
    public void update(long slot, int backendId, long version, int state, int now) {
        int old = backendId(slot);
        begin();
        set(slot, 2, (w(slot, 2) & 0xFFFFFFFF_00000000L) | backendId & 0xFFFFFFFFL);
        set(slot, 3, word3(version, now, state, REF | ACTIVE));
        end();
        if (old != backendId) {
            occupied(old, -1);
            occupied(backendId, 1);
        }
    }

    /**
     * Adds a flow the caller looked up and did not find.
     *
     * @return its slot, or -1 when the table is full and CLOCK found no victim (counted)
     */
    public long insert(long srcHi, long srcLo, int ports, int backendId, long version, int state, int now) {
        if (size >= maxEntries && !evict(now)) {
            insertFailures++;
            return -1;
        }
        begin();
        long slot = home(srcHi, srcLo, ports);
        while (stateOf(w(slot, 3)) != EMPTY) {
            slot = next(slot);
        }
        set(slot, 0, srcHi);
        set(slot, 1, srcLo);
        set(slot, 2, FlowEntry.portsBackend(ports, backendId));
        set(slot, 3, word3(version, now, state, REF | ACTIVE));
        size++;
        end();
        occupied(backendId, 1);
        return slot;
    }

    /**
     * Inserts or replaces a flow learnt from elsewhere (a peer, a snapshot), unless this table holds a newer
     * decision: last writer wins by version, a tie goes to the higher backend id so every node settles the same.
     *
     * @return {@link #INSERTED}, {@link #UPDATED}, {@link #UNCHANGED}, {@link #STALE} or {@link #FULL}
     */
    public int upsert(long srcHi, long srcLo, int ports, int backendId, long version, int state, int now) {
        long slot = find(srcHi, srcLo, ports);
        if (slot < 0) {
            return insert(srcHi, srcLo, ports, backendId, version, state, now) < 0 ? FULL : INSERTED;
        }
        long w3 = w(slot, 3);
        long mine = versionOf(w3);
        int mineBackend = backendId(slot);
        version &= VERSION_MASK;
        if (version < mine || version == mine && Integer.compareUnsigned(backendId, mineBackend) < 0) {
            return STALE;
        }
        if (version == mine && backendId == mineBackend) {
            touch(slot, now, Math.max(state, stateOf(w3)));
            return UNCHANGED;
        }
        update(slot, backendId, version, state, now);
        return UPDATED;
    }

    /** Removes the flow in {@code slot}; later entries of its probe run move back (no tombstones). */
    public void remove(long slot) {
        begin();
        removeAt(slot);
        end();
    }

    private void removeAt(long hole) {
        int gone = FlowEntry.backend(w(hole, 2));
        long j = hole;
        while (true) {
            j = next(j);
            if (stateOf(w(j, 3)) == EMPTY) {
                break;
            }
            long h = home(w(j, 0), w(j, 1), FlowEntry.ports(w(j, 2)));
            // j may fill the hole unless its home lies cyclically in (hole, j]
            boolean stays = hole <= j ? hole < h && h <= j : hole < h || h <= j;
            if (!stays) {
                MemorySegment.copy(mem, j * SLOT_BYTES, mem, hole * SLOT_BYTES, SLOT_BYTES);
                hole = j;
            }
        }
        mem.asSlice(hole * SLOT_BYTES, SLOT_BYTES).fill((byte) 0);
        size--;
        occupied(gone, -1);
    }

    /** CLOCK: frees one slot, preferring expired entries, else the first whose ref bit is clear. */
    private boolean evict(int now) {
        begin();
        try {
            for (int i = 0; i < EVICTION_SCAN; i++) {
                long slot = hand;
                long w3 = w(slot, 3);
                if (stateOf(w3) != EMPTY) {
                    if (expired(w3, now)) {
                        removeAt(slot);
                        evictedExpired++;
                        return true;
                    }
                    if ((w3 & REF) == 0) {
                        removeAt(slot);
                        evictedPressure++;
                        return true;
                    }
                    set(slot, 3, w3 & ~REF);
                }
                hand = next(slot);
            }
            return false;
        } finally {
            end();
        }
    }

    /**
     * Incremental expiry: inspects the next {@code budget} slots, removes expired entries and hands each entry
     * seen since the sweep last passed to {@code active} (which may be null), clearing its active bit.
     *
     * @return entries removed
     */
    public int sweep(int now, long budget, Visitor active) {
        int removed = 0;
        begin();
        try {
            for (long i = 0; i < Math.min(budget, capacity); i++) {
                long slot = sweepCursor;
                long w3 = w(slot, 3);
                if (stateOf(w3) != EMPTY) {
                    if (expired(w3, now)) {
                        removeAt(slot);      // a later entry may have moved into this slot: look again
                        evictedExpired++;
                        removed++;
                        continue;
                    }
                    if ((w3 & ACTIVE) != 0) {
                        set(slot, 3, w3 & ~ACTIVE);
                        if (active != null) {
                            long w2 = w(slot, 2);
                            active.visit(w(slot, 0), w(slot, 1), FlowEntry.ports(w2), FlowEntry.backend(w2),
                                versionOf(w3), stateOf(w3));
                        }
                    }
                }
                sweepCursor = next(slot);
            }
        } finally {
            end();
        }
        return removed;
    }

    // ---------------------------------------------------------------- shared reads

    private void begin() {
        if (shared) {
            long s = (long) SEQ.getOpaque(this);
            SEQ.setOpaque(this, s + 1);
            VarHandle.storeStoreFence();
        }
    }

    private void end() {
        if (shared) {
            long s = (long) SEQ.getOpaque(this);
            SEQ.setRelease(this, s + 1);
        }
    }

    /**
     * Reads a flow from any thread (a shared table only): fills {@code out[0]} with its backend id and
     * {@code out[1]} with its version and {@code out[2]} with its state.
     *
     * @return whether the table holds the flow, unexpired at {@code now}
     */
    public boolean read(long srcHi, long srcLo, int ports, int now, long[] out) {
        if (!shared) {
            throw new IllegalStateException("not a shared table");
        }
        while (true) {
            long s1 = (long) SEQ.getAcquire(this);
            if ((s1 & 1) != 0) {
                Thread.onSpinWait();
                continue;
            }
            boolean found = false;
            long w2 = 0;
            long w3 = 0;
            long slot = home(srcHi, srcLo, ports);
            for (long i = 0; i < capacity; i++) {
                w3 = w(slot, 3);
                if (stateOf(w3) == EMPTY) {
                    break;
                }
                if (w(slot, 1) == srcLo && w(slot, 0) == srcHi && FlowEntry.ports(w2 = w(slot, 2)) == ports) {
                    found = true;
                    break;
                }
                slot = next(slot);
            }
            VarHandle.loadLoadFence();
            if ((long) SEQ.getOpaque(this) == s1) {
                if (!found || expired(w3, now)) {
                    return false;
                }
                out[0] = FlowEntry.backend(w2);
                out[1] = versionOf(w3);
                out[2] = stateOf(w3);
                return true;
            }
        }
    }

    /**
     * Copies the live entries of slots {@code [from, from + n)} consistently from any thread (a shared table only):
     * four longs per entry into {@code out} (at least {@code 8 * n} longs: the first half is scratch).
     *
     * @return the entries copied; they start at {@code out[4 * n]}
     */
    public int readRange(long from, int n, int now, long[] out) {
        if (!shared) {
            throw new IllegalStateException("not a shared table");
        }
        int base = 4 * n;
        n = (int) Math.max(0, Math.min(n, capacity - from));
        while (true) {
            long s1 = (long) SEQ.getAcquire(this);
            if ((s1 & 1) != 0) {
                Thread.onSpinWait();
                continue;
            }
            MemorySegment.copy(mem, ValueLayout.JAVA_LONG, from * SLOT_BYTES, out, 0, n * 4);
            VarHandle.loadLoadFence();
            if ((long) SEQ.getOpaque(this) == s1) {
                break;
            }
        }
        int count = 0;
        for (int i = 0; i < n; i++) {
            long w3 = out[i * 4 + 3];
            if (stateOf(w3) != EMPTY && !expired(w3, now)) {
                System.arraycopy(out, i * 4, out, base + count * 4, 4);
                count++;
            }
        }
        return count;
    }

    /** Unpacking helpers for {@link #readRange}'s word 3 (word 2 is {@link FlowEntry#portsBackend}). */
    public static long versionOf(long w3) {
        return w3 >>> 24;
    }

    public static int stateOfWord(long w3) {
        return stateOf(w3);
    }

    /** Frees the memory; the occupancy listener hears of every flow still held leaving (the owner has stopped). */
    @Override
    public void close() {
        if (occupancy != null) {
            for (long slot = 0; slot < capacity; slot++) {
                if (stateOf(w(slot, 3)) != EMPTY) {
                    occupied(FlowEntry.backend(w(slot, 2)), -1);
                }
            }
        }
        arena.close();
    }
}
