package io.l4mesh.node.mesh;

/**
 * The state of one backend of one pool, as last written anywhere in the mesh.
 *
 * @param stamp  hybrid logical clock of the write ({@link Hlc}); 0 for entries that come from a config file
 * @param origin node id of the writer: breaks ties between equal stamps, the same way on every node
 */
public record PoolEntry(String pool, String backend, int weight, boolean draining, boolean deleted, long stamp,
                        String origin) {
    /** Whether this entry wins over {@code other} (last writer wins, by stamp then origin). */
    public boolean newerThan(PoolEntry other) {
        if (other == null) {
            return true;
        }
        if (stamp != other.stamp) {
            return stamp > other.stamp;
        }
        return origin.compareTo(other.origin) > 0;
    }

    String key() {
        return pool + "\u0000" + backend;
    }
}
