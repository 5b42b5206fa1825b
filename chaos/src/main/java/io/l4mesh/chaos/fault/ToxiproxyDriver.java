package io.l4mesh.chaos.fault;

import eu.rekawek.toxiproxy.Proxy;
import eu.rekawek.toxiproxy.ToxiproxyClient;
import eu.rekawek.toxiproxy.model.ToxicDirection;
import java.net.InetSocketAddress;
import java.net.URI;

/**
 * Backend faults through a Toxiproxy server (the product's design names Toxiproxy through Testcontainers): a given
 * server ({@code --toxiproxy http://HOST:PORT}), or one Testcontainers starts where Docker is available. The server
 * must share the nodes' loopback (run on this host; the container uses host networking), because the proxy listens
 * on the backend's own address. Neither is possible here (no Docker engine, no Toxiproxy package), so
 * {@link #connect} says why in one line and the suite uses {@link CrusherProxy} instead.
 *
 * <p>Toxics: {@code latency} for slow, {@code timeout} with timeout 0 (data stops, connections stay) for frozen,
 * the proxy disabled for down.
 */
public final class ToxiproxyDriver implements AutoCloseable {
    private final ToxiproxyClient client;
    private final AutoCloseable server;
    private final String where;

    private ToxiproxyDriver(ToxiproxyClient client, AutoCloseable server, String where) {
        this.client = client;
        this.server = server;
        this.where = where;
    }

    /** A driver, or why there is none. */
    public record Connection(ToxiproxyDriver driver, String unavailable) {
    }

    /**
     * Connects to the server at {@code url}, or (url null) starts one with Testcontainers when Docker is available.
     * Never throws: a failure is the one-line reason in {@link Connection#unavailable}.
     */
    public static Connection connect(String url) {
        if (url != null) {
            try {
                URI u = URI.create(url);
                if (u.getHost() == null || u.getPort() < 1) {
                    return new Connection(null, "--toxiproxy wants http://HOST:PORT, got '" + url + "'");
                }
                ToxiproxyClient c = new ToxiproxyClient(u.getHost(), u.getPort());
                String version = c.version();
                return new Connection(new ToxiproxyDriver(c, () -> { }, url + " (Toxiproxy " + version + ")"), null);
            } catch (Exception e) {
                return new Connection(null, "no Toxiproxy server answers at " + url + " ("
                    + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage()) + ")");
            }
        }
        String docker = dockerUnavailable();
        if (docker != null) {
            return new Connection(null, "no Toxiproxy: " + docker + "; give --toxiproxy URL to use a server");
        }
        try {
            org.testcontainers.toxiproxy.ToxiproxyContainer c =
                new org.testcontainers.toxiproxy.ToxiproxyContainer("ghcr.io/shopify/toxiproxy:2.12.0")
                    .withNetworkMode("host");
            c.start();
            ToxiproxyClient client = new ToxiproxyClient("127.0.0.1", 8474);
            return new Connection(new ToxiproxyDriver(client, c::stop, "a Testcontainers Toxiproxy (host network)"),
                null);
        } catch (Exception e) {
            return new Connection(null, "Testcontainers could not start Toxiproxy: " + e.getMessage());
        }
    }

    /** Why Testcontainers cannot start a container here, or null when it can. */
    public static String dockerUnavailable() {
        try {
            return org.testcontainers.DockerClientFactory.instance().isDockerAvailable() ? null
                : "no Docker engine for Testcontainers";
        } catch (Throwable e) {
            return "no Docker engine for Testcontainers (" + e.getClass().getSimpleName() + ")";
        }
    }

    /** Where the server is, for the report. */
    public String where() {
        return where;
    }

    /**
     * A proxy named {@code name} listening on {@code listen} and forwarding to {@code upstream}; {@code restore}
     * runs when it closes.
     */
    public InPathProxy proxy(String name, InetSocketAddress listen, InetSocketAddress upstream, AutoCloseable restore)
        throws Exception {
        Proxy existing = client.getProxyOrNull(name);
        if (existing != null) {
            existing.delete();
        }
        Proxy p = client.createProxy(name, hostPort(listen), hostPort(upstream));
        return new InPathProxy() {
            @Override
            public void slow(long ms) throws Exception {
                removeToxic("slow");
                if (ms > 0) {
                    p.toxics().latency("slow", ToxicDirection.DOWNSTREAM, ms);
                }
            }

            @Override
            public void freeze() throws Exception {
                p.toxics().timeout("frozen-down", ToxicDirection.DOWNSTREAM, 0);
                p.toxics().timeout("frozen-up", ToxicDirection.UPSTREAM, 0);
            }

            @Override
            public void unfreeze() throws Exception {
                removeToxic("frozen-down");
                removeToxic("frozen-up");
            }

            @Override
            public void down() throws Exception {
                p.disable();
            }

            @Override
            public void up() throws Exception {
                p.enable();
            }

            @Override
            public String driver() {
                return "toxiproxy";
            }

            private void removeToxic(String toxic) throws Exception {
                if (p.toxics().getAll().stream().anyMatch(t -> t.getName().equals(toxic))) {
                    p.toxics().get(toxic).remove();
                }
            }

            @Override
            public void close() throws Exception {
                try {
                    p.delete();
                } finally {
                    restore.close();
                }
            }
        };
    }

    private static String hostPort(InetSocketAddress a) {
        String h = a.getAddress().getHostAddress();
        return (h.contains(":") ? "[" + h + "]" : h) + ":" + a.getPort();
    }

    @Override
    public void close() throws Exception {
        server.close();
    }
}
