package io.l4mesh.hashring;

/**
 * A backend as the hash ring sees it: a stable identity and a weight.
 *
 * @param id     stable identity, for example {@code 10.0.0.7:5432}; the ring hashes this string, so it must be
 *               the same on every node and across restarts (never a hashCode or a generated id)
 * @param weight relative share of new flows; 0 means no new flows; weights need not sum to anything
 */
public record Backend(String id, int weight) {
    /** Largest weight accepted: keeps the population loop's credit arithmetic far from overflow. */
    public static final int MAX_WEIGHT = 1_000_000;

    public Backend {
        if (id == null || id.isEmpty()) {
            throw new IllegalArgumentException("backend id must not be empty");
        }
        if (weight < 0 || weight > MAX_WEIGHT) {
            throw new IllegalArgumentException("backend '" + id + "' weight " + weight + " is not in 0.." + MAX_WEIGHT);
        }
    }
}
