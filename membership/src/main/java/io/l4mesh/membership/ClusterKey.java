package io.l4mesh.membership;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Map;

/**
 * The shared secret that authenticates gossip. Read from a file or an environment variable, never from the command
 * line (where {@code ps} would show it). The text is hex (64 or more hex digits) or at least 32 raw bytes.
 */
public final class ClusterKey {
    /** The environment variable read when no key file is configured. */
    public static final String ENV = "L4MESH_CLUSTER_KEY";
    public static final int MIN_BYTES = 32;

    private final byte[] key;

    private ClusterKey(byte[] key) {
        this.key = key;
    }

    /** The key bytes (a copy). */
    public byte[] bytes() {
        return key.clone();
    }

    /** Parses key text; throws with a one-line reason. */
    public static ClusterKey parse(String text, String source) {
        String t = text.strip();
        if (t.length() >= 2 * MIN_BYTES && t.chars().allMatch(c -> Character.digit(c, 16) >= 0)
            && t.length() % 2 == 0) {
            return new ClusterKey(HexFormat.of().parseHex(t));
        }
        byte[] raw = t.getBytes(StandardCharsets.UTF_8);
        if (raw.length < MIN_BYTES) {
            throw new IllegalArgumentException(source + ": cluster key is too short (need " + MIN_BYTES
                + " bytes or " + 2 * MIN_BYTES + " hex digits)");
        }
        return new ClusterKey(raw);
    }

    /** Reads the key from {@code file} if given, else from {@link #ENV}. */
    public static ClusterKey load(Path file, Map<String, String> env) {
        if (file != null) {
            try {
                return parse(Files.readString(file), "cluster key file '" + file + "'");
            } catch (IOException e) {
                throw new IllegalArgumentException("cannot read cluster key file '" + file + "': " + e.getMessage());
            }
        }
        String v = env.get(ENV);
        if (v == null || v.isBlank()) {
            throw new IllegalArgumentException("no cluster key: set membership.keyFile or $" + ENV);
        }
        return parse(v, "$" + ENV);
    }

    @Override
    public String toString() {
        return "ClusterKey[" + key.length + " bytes]";
    }
}
