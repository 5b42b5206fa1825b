package io.l4mesh.node.flow;

/**
 * The one layout of a flow entry in flight, between threads ({@link Outbox}) and between nodes ({@link SyncCodec}):
 * the source address (two longs), then word 2 {@code ports << 32 | backend}, which is also the flow table's word 2,
 * then {@code version << 8 | state}. The flow table's own word 3 (version, last seen, flags, state) is private to
 * {@link FlowTable}; {@link FlowTable#versionOf} and {@link FlowTable#stateOfWord} read it.
 */
public final class FlowEntry {
    private FlowEntry() {
    }

    /** Word 2: the flow's ports ({@code src << 16 | dst}) and its backend id. */
    public static long portsBackend(int ports, int backendId) {
        return (long) ports << 32 | backendId & 0xFFFFFFFFL;
    }

    public static int ports(long portsBackend) {
        return (int) (portsBackend >>> 32);
    }

    public static int backend(long portsBackend) {
        return (int) portsBackend;
    }

    /** Word 3 in flight: the decision's version and the state byte (its high bit: {@link SyncCodec#NOT_FRESH}). */
    public static long versionState(long version, int state) {
        return version << 8 | state & 0xFF;
    }

    public static long version(long versionState) {
        return versionState >>> 8;
    }

    public static int state(long versionState) {
        return (int) versionState & 0xFF;
    }
}
