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

    /** The stable identity the hash ring uses. */
    public String id() {
        return address.toString();
    }
}
