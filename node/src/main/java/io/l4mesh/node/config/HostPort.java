package io.l4mesh.node.config;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

/**
 * A {@code host:port} pair as written in config ({@code 10.0.0.1:80}, {@code [fd00::1]:80},
 * {@code db.internal:5432}). {@link #toString()} is the canonical form, used as the backend's stable identity.
 *
 * @param host host name or literal address, without brackets
 * @param port 1..65535 (0 allowed only where {@link #parse(String, boolean)} permits it, for "any port")
 */
public record HostPort(String host, int port) {
    /** Parses {@code host:port}; returns null when the text is not of that form. */
    public static HostPort parse(String text, boolean allowPortZero) {
        if (text == null) {
            return null;
        }
        String s = text.trim();
        String host;
        String portText;
        if (s.startsWith("[")) {
            int close = s.indexOf(']');
            if (close < 0 || close + 1 >= s.length() || s.charAt(close + 1) != ':') {
                return null;
            }
            host = s.substring(1, close);
            portText = s.substring(close + 2);
            if (!host.contains(":")) {
                return null;
            }
        } else {
            int colon = s.lastIndexOf(':');
            if (colon <= 0 || s.indexOf(':') != colon) {
                return null;
            }
            host = s.substring(0, colon);
            portText = s.substring(colon + 1);
        }
        if (host.isEmpty() || portText.isEmpty() || portText.length() > 5 || !portText.chars().allMatch(Character::isDigit)) {
            return null;
        }
        if (!host.contains(":") && !host.matches("[A-Za-z0-9._-]+")) {
            return null;
        }
        int port = Integer.parseInt(portText);
        if (port > 65535 || (port == 0 && !allowPortZero)) {
            return null;
        }
        return new HostPort(host, port);
    }

    /** Whether the host is a literal IPv4 or IPv6 address rather than a name. */
    public boolean isLiteral() {
        return host.contains(":") || host.matches("\\d{1,3}(\\.\\d{1,3}){3}");
    }

    /** Resolves the host (a literal never touches DNS). */
    public InetSocketAddress resolve() throws UnknownHostException {
        return new InetSocketAddress(InetAddress.getByName(host), port);
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
        String host = address.getAddress() != null ? address.getAddress().getHostAddress() : address.getHostString();
        return host.contains(":") ? "[" + host + "]:" + address.getPort() : host + ":" + address.getPort();
    }

    @Override
    public String toString() {
        return host.contains(":") ? "[" + host + "]:" + port : host + ":" + port;
    }
}
