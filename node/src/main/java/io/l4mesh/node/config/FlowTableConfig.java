package io.l4mesh.node.config;

import java.time.Duration;

/**
 * A packet listener's flow table: how many flows it remembers (shared out over its packet threads) and how long
 * an idle flow stays, by TCP state (defaults after IPVS: 30 s for a SYN not yet answered, 15 min established, 60 s
 * after FIN or RST) or for UDP.
 */
public record FlowTableConfig(long maxEntries, Duration tcpSyn, Duration tcpEstablished, Duration tcpClosing,
                              Duration udp) {
    public static final long DEFAULT_MAX_ENTRIES = 1_000_000;
    /** Largest timeout a state may have: the flow table's 20-bit seconds clock wraps at 2^20 s. */
    public static final int MAX_TIMEOUT_SECONDS = (1 << 19) - 1;
    public static final FlowTableConfig DEFAULTS = new FlowTableConfig(DEFAULT_MAX_ENTRIES, Duration.ofSeconds(30),
        Duration.ofMinutes(15), Duration.ofSeconds(60), Duration.ofSeconds(120));

    /** Timeouts in seconds indexed by flow state (see {@code FlowTable}), for a table of this protocol. */
    public int[] timeouts(Protocol protocol) {
        if (protocol == Protocol.UDP) {
            int u = (int) udp.toSeconds();
            return new int[] {1, u, u, u};
        }
        return new int[] {1, (int) tcpSyn.toSeconds(), (int) tcpEstablished.toSeconds(), (int) tcpClosing.toSeconds()};
    }
}
