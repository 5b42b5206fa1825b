package io.l4mesh.chaos.bench;

import io.l4mesh.node.config.FlowSyncConfig;
import io.l4mesh.node.flow.FlowSync;
import io.l4mesh.node.flow.FlowTable;
import io.l4mesh.node.flow.ListenerFlows;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code l4mesh bench sync}: one node replicating new flows to two peers over loopback (three flow-sync endpoints in
 * this process, each with its own sync thread): flows per second the peers applied, and replication lag (creation
 * to insertion on a peer; millisecond resolution, since versions are milliseconds).
 */
public final class SyncBench {
    private static final int[] TIMEOUTS = {1, 30, 900, 60};

    /** What the run measured. */
    public record Result(long offered, long appliedB, long appliedC, double seconds, double appliedPerSecond,
                         long p50Micros, long p99Micros, long retransmits, long lost, long outboxFull) {
    }

    /**
     * @param pace new flows offered per second (0: as fast as the outbox takes them, which measures throughput;
     *             the lag then includes queueing)
     */
    public static Result run(int seconds, long rateLimit, long maxFlows, long pace) throws Exception {
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        FlowSyncConfig cfg = new FlowSyncConfig(true, 0, rateLimit, Duration.ofSeconds(5));
        InetSocketAddress any = new InetSocketAddress("127.0.0.1", 0);
        InetSocketAddress[] addr = new InetSocketAddress[3];
        List<InetSocketAddress> peersOfA = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (FlowSync a = new FlowSync("bench-a", any, key, cfg, () -> peersOfA);
             FlowSync b = new FlowSync("bench-b", any, key, cfg, List::of);
             FlowSync c = new FlowSync("bench-c", any, key, cfg, List::of)) {
            addr[1] = b.bound();
            addr[2] = c.bound();
            peersOfA.addAll(List.of(addr[1], addr[2]));
            long size = maxFlows + 1000;
            ListenerFlows la = a.register("vip", size, TIMEOUTS, 1);
            ListenerFlows lb = b.register("vip", size, TIMEOUTS, 1);
            ListenerFlows lc = c.register("vip", size, TIMEOUTS, 1);
            long[] lags = new long[1 << 22];
            AtomicInteger n = new AtomicInteger();
            b.stats().lagRecorder(us -> {
                int i = n.getAndIncrement();
                if (i < lags.length) {
                    lags[i] = us;
                }
            });
            Thread.sleep(300);
            long deadline = System.nanoTime() + seconds * 1_000_000_000L;
            long offered = 0;
            long t0 = System.nanoTime();
            while (System.nanoTime() < deadline && offered < maxFlows) {
                if (pace > 0 && offered >= (System.nanoTime() - t0) * pace / 1_000_000_000L) {
                    Thread.onSpinWait();
                    continue;
                }
                if (la.outbox(0).offer(0, 0xFFFF_0000_0000L | offered, FlowTable.ports((int) offered & 0xFFFF, 80),
                    7, FlowTable.versionNow(), FlowTable.SYN_SEEN)) {
                    offered++;
                } else {
                    Thread.onSpinWait();
                }
            }
            long end = System.nanoTime() + 5_000_000_000L;
            while ((lb.replica().size() < offered || lc.replica().size() < offered) && System.nanoTime() < end) {
                Thread.sleep(5);
            }
            double secs = (System.nanoTime() - t0) / 1e9;
            long appliedB = lb.replica().size();
            long appliedC = lc.replica().size();
            int samples = Math.min(n.get(), lags.length);
            long[] sorted = Arrays.copyOf(lags, samples);
            Arrays.sort(sorted);
            long p50 = samples == 0 ? -1 : sorted[samples / 2];
            long p99 = samples == 0 ? -1 : sorted[(int) Math.min(samples - 1, (long) (samples * 0.99))];
            return new Result(offered, appliedB, appliedC, secs, Math.min(appliedB, appliedC) / secs, p50, p99,
                a.stats().retransmits(), b.stats().lost() + c.stats().lost(), la.outboxFullTotal());
        }
    }
}
