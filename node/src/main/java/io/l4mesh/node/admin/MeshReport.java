package io.l4mesh.node.admin;

import io.l4mesh.node.mesh.Mesh;
import io.l4mesh.node.mesh.NodeLoad;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code GET /mesh}: the whole mesh as this node sees it, for the live page ({@code GET /ui}): every member with its
 * state, VIP announcement and load (from its gossiped load message), and every pool with, per backend, the verdict
 * this node routes by, each member's own observation (from its published state), its weight and Maglev share.
 * Published state only: it never waits for the control thread.
 */
final class MeshReport {
    private MeshReport() {
    }

    /** A member of the mesh and what it last said. */
    record NodeRow(String node, boolean self, String gossip, String state, int vips, int announced, long connections,
                   long packets, long flows, long atMs, long heardMsAgo, Map<String, String> fingerprints) {
    }

    /** A backend of a pool: the verdict, and how each member sees it ("up", "down", "unknown": not published). */
    record BackendRow(String address, String verdict, String reason, int weight, boolean draining, boolean eligible,
                      int slots, double share, long flows, Map<String, String> seenBy) {
    }

    record PoolRow(String name, long version, String fingerprint, boolean agreed, int tableSize,
                   List<BackendRow> backends) {
    }

    record Report(String node, long atMs, boolean mesh, List<NodeRow> nodes, List<PoolRow> pools) {
    }

    static Report of(NodeControl control) {
        long now = System.currentTimeMillis();
        NodeStatus status = control.status();
        NodeLoad self = control.load();
        Mesh mesh = control.mesh();
        List<Mesh.MemberRow> members = mesh == null ? List.of() : mesh.members();
        Map<String, NodeLoad> loads = mesh == null ? Map.of() : mesh.loads();
        List<NodeRow> nodes = new ArrayList<>();
        if (members.isEmpty()) {
            nodes.add(row(self, true, "", now, Map.of()));
        }
        for (Mesh.MemberRow m : members) {
            NodeLoad l = m.self() ? self : loads.get(m.nodeId());
            nodes.add(l != null ? row(l, m.self(), m.gossip(), now, m.fingerprints())
                : new NodeRow(m.nodeId(), false, m.gossip(), "unknown", 0, 0, 0, 0, 0, 0, -1, m.fingerprints()));
        }
        List<PoolRow> pools = new ArrayList<>();
        for (NodeStatus.Pool p : status.pools()) {
            int total = p.backends().stream().mapToInt(NodeStatus.Backend::slots).sum();
            List<BackendRow> backends = new ArrayList<>();
            for (NodeStatus.Backend b : p.backends()) {
                Map<String, String> seen = new LinkedHashMap<>();
                if (members.isEmpty()) {
                    seen.put(status.node(), b.localHealth());
                }
                for (Mesh.MemberRow m : members) {
                    seen.put(m.nodeId(), m.self() ? b.localHealth() : m.ledgerDigest() == null ? "unknown"
                        : m.down().contains(p.name() + "/" + b.address()) ? "down" : "up");
                }
                backends.add(new BackendRow(b.address(), b.health(), b.healthReason(), b.weight(), b.draining(),
                    b.eligible(), b.slots(), total == 0 ? 0 : (double) b.slots() / total, b.flows(), seen));
            }
            boolean agreed = members.stream().allMatch(m -> m.fingerprints().isEmpty()
                || p.fingerprint().equals(m.fingerprints().get(p.name())));
            pools.add(new PoolRow(p.name(), p.version(), p.fingerprint(), agreed, total, backends));
        }
        return new Report(status.node(), now, mesh != null, nodes, pools);
    }

    private static NodeRow row(NodeLoad l, boolean self, String gossip, long now, Map<String, String> fingerprints) {
        return new NodeRow(l.nodeId(), self, gossip, l.state(), l.vips(), l.announced(), l.connections(), l.packets(),
            l.flows(), l.atMs(), self ? 0 : Math.max(0, now - l.atMs()), fingerprints);
    }
}
