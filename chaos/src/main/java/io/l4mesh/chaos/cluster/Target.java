package io.l4mesh.chaos.cluster;

/** Where a scenario runs: what it needs from the machine. */
public enum Target {
    /** The packet-mode lab: network namespaces, a BGP/ECMP router, packet-mode nodes with flow sync (root, Linux). */
    LAB("root and the lab (Linux, network namespaces, BIRD 2)"),
    /** A mesh of proxy-mode nodes on loopback, like {@code l4mesh demo}: runs anywhere, no root. */
    LOOPBACK("a loopback mesh (no root)");

    private final String needs;

    Target(String needs) {
        this.needs = needs;
    }

    /** What the target needs, for {@code l4mesh chaos list}. */
    public String needs() {
        return needs;
    }
}
