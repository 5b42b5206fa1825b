package io.l4mesh.membership;

/**
 * Gossip counters (monotonic totals).
 *
 * @param framesIn         frames accepted
 * @param framesOut        frames sent
 * @param rejected         frames refused (any reason)
 * @param rejectedBadMac   refused: wrong key or tampered
 * @param rejectedReplay   refused: nonce seen before
 * @param rejectedStale    refused: clock outside the window
 * @param rejectedMalformed refused: truncated or not parseable
 * @param droppedByFault   dropped by the fault seam (partitions, lossy links)
 */
public record MembershipStats(long framesIn, long framesOut, long rejected, long rejectedBadMac, long rejectedReplay,
                              long rejectedStale, long rejectedMalformed, long droppedByFault) {
}
