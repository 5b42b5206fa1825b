package io.l4mesh.node.mesh;

import io.l4mesh.membership.Member;
import io.l4mesh.membership.MemberView;
import io.l4mesh.membership.Membership;
import io.l4mesh.node.log.Log;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * The members' load, for the live mesh page: this node gossips its {@link NodeLoad} every
 * {@link #EVERY_MS} and keeps the last one each live member sent. Display only: nothing routes by it.
 *
 * <p>Threading: {@link #send}, {@link #received} and {@link #forget} run on the control thread, which owns the
 * map; {@link #loads} reads a published copy from any thread.
 */
final class LoadBoard {
    private static final Logger LOG = Log.logger(LoadBoard.class);
    static final String TOPIC = "load";
    static final long EVERY_MS = 1000;

    private volatile Supplier<NodeLoad> source;
    private final Map<String, NodeLoad> byMember = new HashMap<>();
    private volatile Map<String, NodeLoad> view = Map.of();

    void source(Supplier<NodeLoad> s) {
        source = s;
    }

    /** Gossips this node's load (nothing before a source is set or the mesh is joined). Control thread. */
    void send(Membership membership) {
        Supplier<NodeLoad> s = source;
        if (s == null || membership == null) {
            return;
        }
        try {
            membership.broadcast(TOPIC, s.get().encode());
        } catch (RuntimeException e) {
            Log.debug(LOG, "mesh.load_not_sent", "detail", e.toString());
        }
    }

    /**
     * A member's load message: kept when it speaks for itself, is a member now, and is newer than the last.
     *
     * @return false when the message is malformed (the caller counts it)
     */
    boolean received(byte[] payload, Member from, MemberView members) {
        NodeLoad l;
        try {
            l = NodeLoad.decode(payload);
        } catch (IOException e) {
            return false;
        }
        if (!l.nodeId().equals(from.nodeId()) || members == null
            || members.others().stream().noneMatch(o -> o.id().equals(from.id()))) {
            return true;     // a member speaks only for itself, and only while it is one
        }
        NodeLoad old = byMember.get(from.id());
        if (old == null || old.atMs() <= l.atMs()) {
            byMember.put(from.id(), l);
            view = Map.copyOf(byMember);
        }
        return true;
    }

    /** A member went away. Control thread. */
    void forget(Member gone) {
        if (byMember.remove(gone.id()) != null) {
            view = Map.copyOf(byMember);
        }
    }

    /** The last load each other live member sent, by node id. Any thread. */
    Map<String, NodeLoad> loads() {
        Map<String, NodeLoad> byNode = new TreeMap<>();
        view.values().forEach(l -> byNode.put(l.nodeId(), l));
        return byNode;
    }
}
