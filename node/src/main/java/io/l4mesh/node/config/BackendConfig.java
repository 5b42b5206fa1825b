package io.l4mesh.node.config;

/**
 * One backend of a pool.
 *
 * @param address  where to connect; its canonical text is the backend's identity in the hash ring
 * @param weight   relative share of new flows (0: none)
 * @param draining no new flows; flows already there continue until they end
 */
public record BackendConfig(HostPort address, int weight, boolean draining) {
    public static final int DEFAULT_WEIGHT = 1;
    public static final int MAX_WEIGHT = io.l4mesh.hashring.Backend.MAX_WEIGHT;

    /**
     * The one check of a weight (config, admin API, runtime changes, gossiped entries): null when {@code weight} is
     * in 0..{@value #MAX_WEIGHT}, else the one-line error.
     */
    public static String weightError(int weight) {
        return weight < 0 || weight > MAX_WEIGHT ? "weight " + weight + " is not in 0.." + MAX_WEIGHT : null;
    }

    /** The stable identity the hash ring uses. */
    public String id() {
        return address.toString();
    }
}
