package io.l4mesh.node.config;

import com.google.common.net.HostAndPort;
import com.google.common.net.InetAddresses;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.regex.Pattern;

/**
 * A {@code host:port} pair as written in config ({@code 10.0.0.1:80}, {@code [fd00::1]:80},
 * {@code db.internal:5432}). {@link #toString()} is the canonical form, used as the backend's stable identity.
 *
 * @param host host name or literal address, without brackets
 * @param port 1..65535 (0 allowed only where {@link #parse(String, boolean)} permits it, for "any port")
 */
public record HostPort(String host, int port) {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]+");

    /**
     * Parses {@code host:port} (Guava's {@link HostAndPort} splits it); returns null when the text is not of that
     * form. An IPv6 literal must be in brackets and is kept in its canonical text (RFC 5952: {@code [FD00:0::1]:80}
     * and {@code [fd00::1]:80} are one backend); a name is letters, digits, dots, dashes and underscores.
     */
    public static HostPort parse(String text, boolean allowPortZero) {
        if (text == null) {
            return null;
        }
        String s = text.trim();
        HostAndPort hp;
        try {
            hp = HostAndPort.fromString(s);
        } catch (IllegalArgumentException e) {
            return null;
        }
        if (!hp.hasPort() || (hp.getPort() == 0 && !allowPortZero) || hp.getHost().isEmpty()) {
            return null;
        }
        String host = hp.getHost();
        if (host.contains(":")) {
            if (!s.startsWith("[") || !InetAddresses.isInetAddress(host)) {
                return null;
            }
            host = InetAddresses.toAddrString(InetAddresses.forString(host));
        } else if (!NAME.matcher(host).matches()) {
            return null;
        }
        return new HostPort(host, hp.getPort());
    }

    /** Whether the host is a literal IPv4 or IPv6 address rather than a name. */
    public boolean isLiteral() {
        return InetAddresses.isInetAddress(host);
    }

    /** Resolves the host (a literal never touches DNS). */
    public InetSocketAddress resolve() throws UnknownHostException {
        InetAddress a = isLiteral() ? InetAddresses.forString(host) : InetAddress.getByName(host);
        return new InetSocketAddress(a, port);
    }

    /** Resolves the host, or null when it does not resolve (say so with {@link #unresolvable}). */
    public InetSocketAddress tryResolve() {
        try {
            return resolve();
        } catch (UnknownHostException e) {
            return null;
        }
    }

    /** The one message for a host that does not resolve (config, admin API, reload, gossiped entries). */
    public String unresolvable() {
        return "cannot resolve host '" + host + "'";
    }

    /** Canonical text of a resolved socket address, the same form {@link #toString()} gives. */
    public static String format(InetSocketAddress address) {
        String host = address.getAddress() != null ? InetAddresses.toAddrString(address.getAddress())
            : address.getHostString();
        return host.contains(":") ? "[" + host + "]:" + address.getPort() : host + ":" + address.getPort();
    }

    @Override
    public String toString() {
        return host.contains(":") ? "[" + host + "]:" + port : host + ":" + port;
    }
}
