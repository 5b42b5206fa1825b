package io.l4mesh.node.fault;

import io.l4mesh.membership.Faults;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Every fault seam of a node (Aeron's {@code LossGenerator} idea): what a chaos run turns on to make this node's
 * network or probes misbehave from the inside. No-op until set; each setting is one immutable value swapped by
 * reference, read on the path it affects with one volatile read.
 *
 * <ul>
 *   <li><b>gossip partition</b>: frames to and from these members' gossip addresses are dropped;</li>
 *   <li><b>gossip loss</b>: a share of the frames this node sends is lost, the rest delayed;</li>
 *   <li><b>health</b>: this node's probes of these {@code pool/host:port} backends fail;</li>
 *   <li><b>sync loss</b>: a share of the flow-sync data datagrams is not sent the first time (the receivers' NAKs
 *       recover them, as after a real loss).</li>
 * </ul>
 *
 * <pre>{@code
 * FaultInjector f = node.faults();
 * f.syncLoss(0.2);                 // one flow-sync datagram in five lost
 * f.clear();                       // every seam off
 * }</pre>
 *
 * <p>Threading: any thread.
 */
public final class FaultInjector {
    private final Faults gossip = new Faults();
    private volatile Set<String> healthDown = Set.of();
    private volatile double syncLoss;

    /** What every seam is set to, for {@code GET /fault}. */
    public record State(Set<String> partition, double gossipLoss, long gossipDelayMs, Set<String> healthDown,
                        double syncLoss) {
    }

    /** The gossip transport's seam (handed to membership when the node joins). */
    public Faults gossip() {
        return gossip;
    }

    /** Drops gossip to and from these {@code host:port} addresses (replaces the previous set). */
    public void partition(Set<String> gossipAddresses) {
        gossip.block(gossipAddresses);
    }

    /**
     * Loses {@code share} of the gossip frames this node sends and delays the rest by {@code delayMs}.
     *
     * @throws IllegalArgumentException share outside 0..1 or delay outside 0..{@value Faults#MAX_DELAY_MS} ms
     */
    public void gossipLoss(double share, long delayMs) {
        gossip.lossy(share, delayMs);
    }

    /** Makes this node's probes of these {@code pool/host:port} backends fail (replaces the previous set). */
    public void healthDown(Set<String> keys) {
        healthDown = Set.copyOf(keys);
    }

    /** Whether this node's probe of {@code pool/backend} must fail. Health checker's loop. */
    public boolean probeFails(String pool, String backend) {
        Set<String> down = healthDown;
        return !down.isEmpty() && down.contains(pool + "/" + backend);
    }

    /**
     * Loses {@code share} of the flow-sync data datagrams on their first sending.
     *
     * @throws IllegalArgumentException share outside 0..1
     */
    public void syncLoss(double share) {
        if (!(share >= 0 && share <= 1)) {
            throw new IllegalArgumentException("loss " + share + " is not a share in 0..1");
        }
        syncLoss = share;
    }

    /** Whether this flow-sync datagram is lost (flow sync counts it as {@code dropped{reason=fault}}). */
    public boolean dropSyncDatagram() {
        double share = syncLoss;
        return share > 0 && ThreadLocalRandom.current().nextDouble() < share;
    }

    /** Turns every seam off. */
    public void clear() {
        gossip.clear();
        healthDown = Set.of();
        syncLoss = 0;
    }

    public State state() {
        Faults.Loss l = gossip.loss();
        return new State(new TreeSet<>(gossip.blocked()), l.share(), l.delayMs(), new TreeSet<>(healthDown), syncLoss);
    }
}
