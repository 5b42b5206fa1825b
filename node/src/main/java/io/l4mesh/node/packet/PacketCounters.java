package io.l4mesh.node.packet;

import java.util.concurrent.atomic.LongAdder;

/** Packet-path totals, shared by a VIP's packet threads (each adds once per packet it handles). */
public final class PacketCounters {
    final LongAdder received = new LongAdder();
    final LongAdder forwarded = new LongAdder();
    final LongAdder bytesForwarded = new LongAdder();
    final LongAdder icmpErrors = new LongAdder();
    final LongAdder fragments = new LongAdder();
    final LongAdder ipOptions = new LongAdder();
    final LongAdder malformed = new LongAdder();
    final LongAdder unsupported = new LongAdder();
    final LongAdder noBackend = new LongAdder();
    final LongAdder tooBig = new LongAdder();
    final LongAdder sendErrors = new LongAdder();
    final LongAdder icmpSent = new LongAdder();
    /** Flows this node placed by Maglev and recorded (first packet seen here, no entry anywhere). */
    final LongAdder flowsCreated = new LongAdder();
    /** TCP packets without SYN that matched no flow entry (placed by hash; a moved or forgotten connection). */
    final LongAdder nonSynMisses = new LongAdder();
    /** Flows taken over from the replica (a peer placed them; ECMP now sends them here). */
    final LongAdder flowsAdopted = new LongAdder();
    /** Flows whose recorded backend was removed or is down, placed again by Maglev (those connections break). */
    final LongAdder rehashedRemoved = new LongAdder();
    final LongAdder rehashedDown = new LongAdder();
    /** New flows the full table could not record (forwarded by hash all the same). */
    final LongAdder tableFull = new LongAdder();
    /** TCP super-packets read from a TUN device with offloads, and the segments the node cut them into. */
    final LongAdder superPackets = new LongAdder();
    final LongAdder segments = new LongAdder();
    /** UDP GSO sends ({@link UdpGso}) and the encapsulated packets they carried. */
    final LongAdder gsoSends = new LongAdder();
    final LongAdder gsoPackets = new LongAdder();
    /** Health-probe packets from this node steered to the backend they test. */
    final LongAdder probes = new LongAdder();

    public long superPackets() {
        return superPackets.sum();
    }

    public long segments() {
        return segments.sum();
    }

    public long gsoSends() {
        return gsoSends.sum();
    }

    public long gsoPackets() {
        return gsoPackets.sum();
    }

    public long received() {
        return received.sum();
    }

    public long forwarded() {
        return forwarded.sum();
    }

    public long bytesForwarded() {
        return bytesForwarded.sum();
    }

    public long icmpErrors() {
        return icmpErrors.sum();
    }

    public long fragments() {
        return fragments.sum();
    }

    public long ipOptions() {
        return ipOptions.sum();
    }

    public long malformed() {
        return malformed.sum();
    }

    public long unsupported() {
        return unsupported.sum();
    }

    public long noBackend() {
        return noBackend.sum();
    }

    public long tooBig() {
        return tooBig.sum();
    }

    /** ICMP "fragmentation needed" sent back to clients for packets that no longer fit the fabric. */
    public long icmpSent() {
        return icmpSent.sum();
    }

    public long flowsCreated() {
        return flowsCreated.sum();
    }

    public long nonSynMisses() {
        return nonSynMisses.sum();
    }

    public long flowsAdopted() {
        return flowsAdopted.sum();
    }

    /** Flows placed again because their backend was removed ({@code removed}) or is down ({@code down}). */
    public long rehashed(String reason) {
        return reason.equals("removed") ? rehashedRemoved.sum() : rehashedDown.sum();
    }

    public long tableFull() {
        return tableFull.sum();
    }

    public long probes() {
        return probes.sum();
    }

    public long sendErrors() {
        return sendErrors.sum();
    }
}
