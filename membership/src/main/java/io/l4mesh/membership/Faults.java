package io.l4mesh.membership;

import java.util.Set;

/**
 * The fault-injection seam of the gossip transport (no-op unless a test or the chaos suite sets it): frames to or from
 * a blocked address are dropped, as a network partition would. Counted in {@link MembershipStats}.
 *
 * <p>Threading: any thread; the blocked set is an immutable snapshot swapped by reference.
 */
public final class Faults {
    private volatile Set<String> blocked = Set.of();

    /** Drops all gossip to and from these {@code host:port} addresses (replaces the previous set). */
    public void block(Set<String> addresses) {
        blocked = Set.copyOf(addresses);
    }

    /** Heals every partition. */
    public void clear() {
        blocked = Set.of();
    }

    public Set<String> blocked() {
        return blocked;
    }

    boolean isBlocked(String address) {
        Set<String> b = blocked;
        return !b.isEmpty() && address != null && b.contains(address);
    }
}
