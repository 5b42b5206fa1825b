package io.l4mesh.chaos.bench;

import io.l4mesh.node.flow.FlowTable;
import java.lang.management.ManagementFactory;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * {@code l4mesh bench flowtable}: inserts and lookups per second on one thread, bytes per flow and bytes allocated
 * per operation, for l4mesh's flow table and, at the smaller size, a {@code HashMap} of flow records (the plain JVM
 * way) measured in the same run.
 */
public final class FlowTableBench {
    private static final int[] TIMEOUTS = {1, 30, 900, 60};

    /** One measurement. */
    public record Result(String table, long flows, double insertsPerSecond, double hitsPerSecond,
                         double missesPerSecond, double bytesPerFlow, double allocatedBytesPerOp, long rssBytes) {
    }

    private record Key(long hi, long lo, int ports) {
    }

    private static long allocated() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }

    private static long lo(SplittableRandom r) {
        return 0xFFFF_0000_0000L | (r.nextInt() & 0xFFFFFFFFL);
    }

    /** l4mesh's table holding {@code flows} flows. */
    public static Result flowTable(long flows) {
        try (FlowTable t = new FlowTable(flows, TIMEOUTS, false)) {
            SplittableRandom keys = new SplittableRandom(1);
            int now = 100;
            long a0 = allocated();
            long t0 = System.nanoTime();
            for (long i = 0; i < flows; i++) {
                long lo = lo(keys);
                int ports = keys.nextInt();
                if (t.find(0, lo, ports) < 0) {
                    t.insert(0, lo, ports, (int) i, i, FlowTable.ESTABLISHED, now);
                }
            }
            long insertNanos = System.nanoTime() - t0;
            long rss = rssBytes();
            long lookups = Math.min(flows, 5_000_000);
            SplittableRandom again = new SplittableRandom(1);
            long found = 0;
            t0 = System.nanoTime();
            for (long i = 0; i < lookups; i++) {
                long slot = t.find(0, lo(again), again.nextInt());
                if (slot >= 0) {
                    t.touch(slot, now, FlowTable.ESTABLISHED);
                    found++;
                }
            }
            long hitNanos = System.nanoTime() - t0;
            SplittableRandom other = new SplittableRandom(2);
            t0 = System.nanoTime();
            for (long i = 0; i < lookups; i++) {
                found += t.find(1, lo(other), other.nextInt()) >= 0 ? 1 : 0;
            }
            long missNanos = System.nanoTime() - t0;
            long alloc = allocated() - a0;
            if (found < lookups / 2) {
                throw new IllegalStateException("lookups found " + found + " of " + lookups);
            }
            return new Result("l4mesh flow table", t.size(), t.size() * 1e9 / insertNanos, lookups * 1e9 / hitNanos,
                lookups * 1e9 / missNanos, (double) t.bytes() / flows,
                (double) alloc / (flows + 2 * lookups), rss);
        }
    }

    /** The JVM's plain way: {@code HashMap<FlowKey record, Integer>}; heap measured after a full GC. */
    public static Result hashMap(int flows) {
        System.gc();
        Runtime rt = Runtime.getRuntime();
        long before = rt.totalMemory() - rt.freeMemory();
        Map<Key, Integer> m = new HashMap<>();
        SplittableRandom keys = new SplittableRandom(1);
        long a0 = allocated();
        long t0 = System.nanoTime();
        for (int i = 0; i < flows; i++) {
            m.putIfAbsent(new Key(0, lo(keys), keys.nextInt()), i);
        }
        long insertNanos = System.nanoTime() - t0;
        long rss = rssBytes();
        long insertAlloc = allocated() - a0;
        SplittableRandom again = new SplittableRandom(1);
        long found = 0;
        t0 = System.nanoTime();
        for (int i = 0; i < flows; i++) {
            found += m.get(new Key(0, lo(again), again.nextInt())) != null ? 1 : 0;
        }
        long hitNanos = System.nanoTime() - t0;
        SplittableRandom other = new SplittableRandom(2);
        t0 = System.nanoTime();
        for (int i = 0; i < flows; i++) {
            found += m.get(new Key(1, lo(other), other.nextInt())) != null ? 1 : 0;
        }
        long missNanos = System.nanoTime() - t0;
        long alloc = allocated() - a0;
        System.gc();
        long after = rt.totalMemory() - rt.freeMemory();
        if (found < flows / 2) {
            throw new IllegalStateException("lookups found " + found);
        }
        double perFlow = (double) (after - before) / m.size();
        return new Result("java.util.HashMap<record,Integer>", m.size(), m.size() * 1e9 / insertNanos,
            flows * 1e9 / hitNanos, flows * 1e9 / missNanos, perFlow,
            (double) (alloc - insertAlloc) / (2.0 * flows), rss);
    }

    /** This process's resident set (VmRSS) in bytes, or -1 where /proc does not tell. */
    static long rssBytes() {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.substring(6).trim().split("\\s+")[0]) * 1024;
                }
            }
        } catch (java.io.IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }
}
