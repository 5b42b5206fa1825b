package io.l4mesh.membership;

import java.time.Duration;
import java.util.List;

/**
 * How to join the mesh.
 *
 * @param nodeId        this node's stable id (unique in the mesh)
 * @param clusterName   members of different clusters never talk (it is part of the frame key)
 * @param advertiseHost the address other members reach this one at (the gossip port listens on all interfaces)
 * @param port          gossip port (members advertise it, so it must be fixed)
 * @param seeds         {@code host:port} of members to join through; unreachable seeds are retried
 * @param pingInterval  failure detector: how often each member pings one other
 * @param pingTimeout   failure detector: how long a ping may take
 * @param suspicionMult a suspect is removed after about {@code suspicionMult * log2(N) * pingInterval}
 * @param syncInterval  how often members exchange full membership tables (heals partitions)
 * @param gossipInterval how often gossip is spread
 */
public record MembershipConfig(String nodeId, String clusterName, String advertiseHost, int port, List<String> seeds,
                               Duration pingInterval, Duration pingTimeout, int suspicionMult, Duration syncInterval,
                               Duration gossipInterval, ClusterKey key) {
    /**
     * LAN defaults, measured here with 5 members on loopback: a kill -9 is detected in about 2.5 s with no false
     * removals during cold starts (200 ms / 100 ms / 2 detected in 1.5 s but removed live members while they started).
     */
    public static final Duration DEFAULT_PING_INTERVAL = Duration.ofMillis(250);
    public static final Duration DEFAULT_PING_TIMEOUT = Duration.ofMillis(200);
    /**
     * Suspicion lasts mult x log2(members) ping intervals. At 3 a live member was declared dead now and then when a
     * fifth of the gossip frames were lost (a refutation counts only once its metadata is fetched, so one lost
     * request could let the suspicion run out); at 5, with a 500 ms sync, none was in the chaos suite's runs.
     */
    public static final int DEFAULT_SUSPICION_MULT = 5;
    /** Full membership syncs also carry refutations that gossip lost: often enough to beat a suspicion timeout. */
    public static final Duration DEFAULT_SYNC_INTERVAL = Duration.ofMillis(500);
    public static final Duration DEFAULT_GOSSIP_INTERVAL = Duration.ofMillis(100);
    public static final int DEFAULT_PORT = 7946;

    public MembershipConfig {
        seeds = List.copyOf(seeds);
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("gossip port " + port + " is not in 1..65535");
        }
    }
}
