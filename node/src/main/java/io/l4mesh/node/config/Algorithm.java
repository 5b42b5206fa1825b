package io.l4mesh.node.config;

/** How a listener picks a backend for a new flow. */
public enum Algorithm {
    /** Maglev over the 5-tuple: every node picks the same backend for a flow. The default. */
    MAGLEV("maglev"),
    /** Smooth weighted round robin (nginx's), per pool. */
    ROUND_ROBIN("round-robin"),
    /** Fewest active connections per unit of weight; ties go by the flow hash. */
    LEAST_CONNECTIONS("least-connections"),
    /** Maglev over the source address alone: a client keeps its backend across connections. */
    SOURCE_IP("source-ip");

    private final String configName;

    Algorithm(String configName) {
        this.configName = configName;
    }

    public String configName() {
        return configName;
    }

    /** The algorithm with this config name, or null. */
    public static Algorithm byConfigName(String name) {
        for (Algorithm a : values()) {
            if (a.configName.equals(name)) {
                return a;
            }
        }
        return null;
    }
}
