package io.l4mesh.membership;

import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The fault-injection seam of the gossip transport (no-op unless a test or the chaos suite sets it): frames to or from
 * a blocked address are dropped, as a network partition would; a share of the frames this member sends can be lost
 * or held back, as a lossy or slow link would. Every dropped frame is counted in {@link MembershipStats}.
 *
 * <pre>{@code
 * Faults f = new Faults();
 * Membership m = Membership.start(config, listener, f);
 * f.block(Set.of("10.0.0.12:7946"));     // partition from one peer
 * f.lossy(0.2, 0);                        // 20% of the frames sent are lost
 * f.clear();                              // healed
 * }</pre>
 *
 * <p>Threading: any thread; each setting is an immutable value swapped by reference.
 */
public final class Faults {
    /** The longest delay {@link #lossy} accepts. */
    public static final long MAX_DELAY_MS = 10_000;

    /** A lossy link: the share of frames lost and the delay added to each frame that goes through. */
    public record Loss(double share, long delayMs) {
        static final Loss NONE = new Loss(0, 0);

        public Loss {
            if (!(share >= 0 && share <= 1)) {
                throw new IllegalArgumentException("loss " + share + " is not a share in 0..1");
            }
            if (delayMs < 0 || delayMs > MAX_DELAY_MS) {
                throw new IllegalArgumentException("delay " + delayMs + " ms is not in 0.." + MAX_DELAY_MS);
            }
        }
    }

    private volatile Set<String> blocked = Set.of();
    private volatile Loss loss = Loss.NONE;

    /** Drops all gossip to and from these {@code host:port} addresses (replaces the previous set). */
    public void block(Set<String> addresses) {
        blocked = Set.copyOf(addresses);
    }

    /**
     * Loses {@code share} (0..1) of the frames this member sends, at random, and delays the others by
     * {@code delayMs}; {@code lossy(0, 0)} turns it off.
     */
    public void lossy(double share, long delayMs) {
        loss = share == 0 && delayMs == 0 ? Loss.NONE : new Loss(share, delayMs);
    }

    /** Heals every partition and lossy link. */
    public void clear() {
        blocked = Set.of();
        loss = Loss.NONE;
    }

    public Set<String> blocked() {
        return blocked;
    }

    public Loss loss() {
        return loss;
    }

    boolean isBlocked(String address) {
        Set<String> b = blocked;
        return !b.isEmpty() && address != null && b.contains(address);
    }

    /** Whether this outgoing frame is lost on the lossy link. */
    boolean lose() {
        double share = loss.share();
        return share > 0 && ThreadLocalRandom.current().nextDouble() < share;
    }

    long delayMs() {
        return loss.delayMs();
    }
}
