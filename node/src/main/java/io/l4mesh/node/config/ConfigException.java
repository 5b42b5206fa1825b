package io.l4mesh.node.config;

/** An invalid configuration: the message is one line, {@code config: <field path>: <why>}. */
public final class ConfigException extends Exception {
    private final String path;

    public ConfigException(String path, String reason) {
        super("config: " + (path.isEmpty() ? "" : path + ": ") + reason);
        this.path = path;
    }

    /** The dotted path of the offending field, for example {@code pools.web.backends[2].address}. */
    public String path() {
        return path;
    }
}
