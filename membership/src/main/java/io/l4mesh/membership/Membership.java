package io.l4mesh.membership;

import java.time.Duration;

/**
 * A member of the l4mesh gossip mesh.
 *
 * <pre>{@code
 * Membership m = Membership.start(config, listener, new Faults());
 * m.publish(stateBytes);                  // this node's state, seen by all as metadata
 * m.broadcast("pool", delta);             // gossip to every member
 * m.send(member, "pool-sync", snapshot);  // one member
 * m.leave(Duration.ofSeconds(2));         // graceful: peers learn at once
 * }</pre>
 *
 * <p>Threading: every method may be called from any thread; listener calls come one at a time on the membership's
 * own thread.
 */
public interface Membership extends AutoCloseable {
    /** Joins the mesh through the configured seeds (or starts alone and keeps trying them). */
    static Membership start(MembershipConfig config, MembershipListener listener, Faults faults) {
        return ScalecubeMembership.start(config, listener, faults);
    }

    /** The current view. */
    MemberView view();

    /** This member's gossip address ({@code host:port}). */
    String address();

    /** Publishes this member's state (at most 64 KiB), replacing the previous one. */
    void publish(byte[] state);

    /** The last state {@code member} published, or null. */
    byte[] stateOf(Member member);

    /** Gossips a message to every member (eventually, at least once). */
    void broadcast(String topic, byte[] payload);

    /** Sends a message to one member (best effort; the caller retries what must arrive). */
    void send(Member to, String topic, byte[] payload);

    MembershipStats stats();

    /** Leaves gracefully, telling the others, waiting at most {@code timeout}. */
    void leave(Duration timeout);

    @Override
    default void close() {
        leave(Duration.ofSeconds(2));
    }
}
