package io.l4mesh.membership;

/**
 * What the membership tells its user. Called on the membership's own thread, one call at a time; implementations
 * hand work to their own threads rather than block.
 */
public interface MembershipListener {
    /** The view changed (a member joined, left or was removed); {@code gone} is null unless one went away. */
    void viewChanged(MemberView view, Member joined, Member gone, boolean graceful);

    /** A member's published state changed (its metadata). */
    default void stateChanged(Member member, byte[] state) {
    }

    /** A broadcast or direct message on {@code topic} arrived. */
    void message(String topic, byte[] payload, Member from);
}
