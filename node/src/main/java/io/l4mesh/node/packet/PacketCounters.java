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

    public long sendErrors() {
        return sendErrors.sum();
    }
}
