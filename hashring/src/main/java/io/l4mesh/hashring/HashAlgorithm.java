package io.l4mesh.hashring;

/**
 * Versioned hashing algorithms. A change to any output (permutation, population order, flow hash, fingerprint)
 * gets a new constant here; the old one stays, so upgrading never silently remaps flows. Nodes advertise the
 * id and refuse to mix tables built by different ones.
 */
public enum HashAlgorithm {
    /**
     * Maglev v1.
     * <ul>
     *   <li>Backends sorted by id (UTF-16 code unit order, {@link String#compareTo}).</li>
     *   <li>offset = XXH64(id, {@link #offsetSeed()}) mod M; skip = XXH64(id, {@link #skipSeed()}) mod (M - 1) + 1
     *       (both unsigned).</li>
     *   <li>Weighted population: each round every backend adds its weight to a credit; a backend whose credit
     *       reaches the largest weight takes one turn (its next free preferred slot) and pays the largest
     *       weight. Weight 0 takes no turn. With equal weights this is the paper's round-robin exactly.</li>
     *   <li>Lookup slot = (hash{@literal >>>}32 * M){@literal >>>}32 (multiply-shift range reduction).</li>
     *   <li>Flow hash: XXH64 lane mixing over five 64-bit words (addresses as IPv4-mapped IPv6).</li>
     * </ul>
     */
    MAGLEV_V1("maglev-v1", 0x6C346D6573680001L, 0x6C346D6573680002L, 0x6C346D6573680003L, 0x6C346D6573680004L);

    private final String id;
    private final long offsetSeed;
    private final long skipSeed;
    private final long flowSeed;
    private final long fingerprintSeed;

    HashAlgorithm(String id, long offsetSeed, long skipSeed, long flowSeed, long fingerprintSeed) {
        this.id = id;
        this.offsetSeed = offsetSeed;
        this.skipSeed = skipSeed;
        this.flowSeed = flowSeed;
        this.fingerprintSeed = fingerprintSeed;
    }

    /** The stable id nodes exchange, for example {@code maglev-v1}. */
    public String id() {
        return id;
    }

    public long offsetSeed() {
        return offsetSeed;
    }

    public long skipSeed() {
        return skipSeed;
    }

    /** Default seed of the flow hash; a deployment may choose its own (all nodes must agree). */
    public long flowSeed() {
        return flowSeed;
    }

    public long fingerprintSeed() {
        return fingerprintSeed;
    }

    /** The algorithm with this id. */
    public static HashAlgorithm byId(String id) {
        for (HashAlgorithm a : values()) {
            if (a.id.equals(id)) {
                return a;
            }
        }
        throw new IllegalArgumentException("unknown hash algorithm '" + id + "'");
    }

    /** The algorithm new deployments use. */
    public static HashAlgorithm latest() {
        return MAGLEV_V1;
    }
}
