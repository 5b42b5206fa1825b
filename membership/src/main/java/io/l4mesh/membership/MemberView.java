package io.l4mesh.membership;

import java.util.List;

/**
 * An immutable view of the mesh as this member sees it: itself and the others it believes alive, sorted by node id.
 *
 * @param version rises by one on every membership change this member sees
 */
public record MemberView(Member self, List<Member> others, long version) {
    public MemberView {
        others = List.copyOf(others);
    }

    /** Self and the others, sorted by node id. */
    public List<Member> all() {
        java.util.ArrayList<Member> a = new java.util.ArrayList<>(others);
        a.add(self);
        a.sort(java.util.Comparator.comparing(Member::nodeId).thenComparing(Member::id));
        return List.copyOf(a);
    }

    /** Number of live members, self included. */
    public int size() {
        return others.size() + 1;
    }
}
