package io.l4mesh.chaos.report;

import java.util.List;

/**
 * The traffic and the nodes at one moment (every 100 ms).
 *
 * @param live    long connections echoing within the stall time
 * @param stalled long connections open but silent for longer than that
 * @param failed  long connections that broke so far
 * @param serving nodes the clients' traffic reaches (the router's next hops in the lab)
 */
public record Sample(long atMs, int live, int stalled, int failed, List<Integer> serving) {
}
