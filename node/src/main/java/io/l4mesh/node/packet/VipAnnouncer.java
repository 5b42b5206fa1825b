package io.l4mesh.node.packet;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;

/**
 * The dead-man's switch between a packet-mode node and its BGP speaker, as a state machine fed one health poll at a
 * time: after {@code fall} failed polls in a row the VIP routes (which the speaker announces) must be absent, after
 * a successful poll present; in between (failures short of {@code fall}) it adds nothing and removes nothing. It
 * reconciles the routes that exist with that verdict on every poll (level-triggered), because the node adds its VIP
 * routes itself when it becomes ready: an announcer that only acted on its own transitions would never withdraw
 * routes it did not add (a node that fails before the announcer first sees it healthy kept its VIP: the race behind
 * a lab test that timed out once in six runs).
 *
 * <pre>{@code
 * VipAnnouncer a = new VipAnnouncer(List.of(new Vip("198.18.100.1", "l4mvip")), 3, VipAnnouncer.kernelRoutes());
 * a.poll(healthy);    // every interval
 * }</pre>
 *
 * <p>Threading: one thread calls {@link #poll}.
 */
public final class VipAnnouncer {
    /** A VIP and the node's TUN device that carries it. */
    public record Vip(String address, String device) {
        public boolean ipv6() {
            return address.contains(":");
        }

        /** The host route: {@code VIP/32} or {@code VIP/128}. */
        public String prefix() {
            return address + (ipv6() ? "/128" : "/32");
        }
    }

    /** The host's VIP routes. */
    public interface Routes {
        boolean present(Vip vip);

        /** Adds the route into the VIP's device; false when that fails (no such device yet). */
        boolean add(Vip vip);

        void remove(Vip vip);
    }

    /** What one poll did. */
    public enum Action { NONE, WITHDREW, RESTORED }

    private final List<Vip> vips;
    private final int fall;
    private final Routes routes;
    private int failures;
    private boolean wantAnnounced = true;

    public VipAnnouncer(List<Vip> vips, int fall, Routes routes) {
        if (fall < 1) {
            throw new IllegalArgumentException("fall must be at least 1");
        }
        this.vips = List.copyOf(vips);
        this.fall = fall;
        this.routes = routes;
    }

    /**
     * One health poll's result: updates the verdict and makes the routes match it.
     *
     * @return whether this poll removed or added routes (for the log: each change once)
     */
    public Action poll(boolean healthy) {
        failures = healthy ? 0 : failures + 1;
        if (healthy) {
            wantAnnounced = true;
        } else if (failures >= fall) {
            wantAnnounced = false;
        }
        boolean changed = false;
        for (Vip v : vips) {
            boolean present = routes.present(v);
            if (healthy && !present) {
                // only a poll that answered healthy adds: a route the node removed itself (a drain) stays away
                // while the failures add up to a verdict
                changed |= routes.add(v);
            } else if (!wantAnnounced && present) {
                routes.remove(v);
                changed = true;
            }
        }
        return !changed ? Action.NONE : wantAnnounced ? Action.RESTORED : Action.WITHDREW;
    }

    /** Whether routes should be there now. */
    public boolean announced() {
        return wantAnnounced;
    }

    /**
     * The kernel's main routing table in this process's network namespace: presence is read from
     * {@code /proc/net/route} and {@code /proc/net/ipv6_route} (no process per poll), changes go through {@code ip}.
     */
    public static Routes kernelRoutes() {
        return new Routes() {
            @Override
            public boolean present(Vip vip) {
                try {
                    return vip.ipv6() ? hasIpv6Route(Files.readAllLines(Path.of("/proc/net/ipv6_route")), vip)
                        : hasIpv4Route(Files.readAllLines(Path.of("/proc/net/route")), vip);
                } catch (IOException e) {
                    return true;   // cannot tell: act as if present, so a withdrawal is still attempted
                }
            }

            @Override
            public boolean add(Vip vip) {
                return Commands.tryIp(vip.ipv6() ? "-6" : "-4", "route", "replace", vip.prefix(), "dev", vip.device());
            }

            @Override
            public void remove(Vip vip) {
                Commands.tryIp(vip.ipv6() ? "-6" : "-4", "route", "del", vip.prefix());
            }
        };
    }

    /**
     * Whether {@code /proc/net/route} lines hold a host route for the VIP: columns Iface, Destination (the address
     * as a native-order hex word), Gateway, Flags, RefCnt, Use, Metric, Mask, ...
     */
    static boolean hasIpv4Route(List<String> lines, Vip vip) throws IOException {
        byte[] a = InetAddress.getByName(vip.address()).getAddress();
        int be = ((a[0] & 0xFF) << 24) | ((a[1] & 0xFF) << 16) | ((a[2] & 0xFF) << 8) | (a[3] & 0xFF);
        int word = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN ? Integer.reverseBytes(be) : be;
        String dst = String.format("%08X", word);
        for (String line : lines) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 8 && f[1].equalsIgnoreCase(dst) && f[7].equalsIgnoreCase("FFFFFFFF")) {
                return true;
            }
        }
        return false;
    }

    /** Whether {@code /proc/net/ipv6_route} lines (destination in network-order hex, then prefix length) hold it. */
    static boolean hasIpv6Route(List<String> lines, Vip vip) throws IOException {
        String dst = HexFormat.of().formatHex(InetAddress.getByName(vip.address()).getAddress());
        for (String line : lines) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 10 && f[0].equalsIgnoreCase(dst) && f[1].equals("80")) {
                return true;
            }
        }
        return false;
    }
}
