package io.l4mesh.node.config;

/**
 * How packet-mode listeners encapsulate toward a pool's backends.
 *
 * @param type     GUE (Katran-compatible FOU, default) or VXLAN
 * @param port     UDP destination port (6080 for GUE, 4789 for VXLAN by default)
 * @param vni      VXLAN network identifier (VXLAN only)
 * @param innerMac destination MAC of the inner frame: every backend's vxlan device has this MAC (VXLAN only)
 */
public record EncapsulationConfig(Type type, int port, int vni, String innerMac) {
    /** Encapsulation formats. */
    public enum Type { GUE, VXLAN }

    public static final String DEFAULT_INNER_MAC = "02:4c:34:00:00:01";

    public static EncapsulationConfig gue() {
        return new EncapsulationConfig(Type.GUE, 6080, 0, null);
    }

    /** Parses {@code aa:bb:cc:dd:ee:ff}; null if it is not a MAC. */
    public static byte[] parseMac(String text) {
        String[] parts = text.split(":");
        if (parts.length != 6) {
            return null;
        }
        byte[] mac = new byte[6];
        for (int i = 0; i < 6; i++) {
            if (!parts[i].matches("[0-9a-fA-F]{2}")) {
                return null;
            }
            mac[i] = (byte) Integer.parseInt(parts[i], 16);
        }
        return mac;
    }
}
