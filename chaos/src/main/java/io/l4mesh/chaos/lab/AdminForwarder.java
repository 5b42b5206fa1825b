package io.l4mesh.chaos.lab;

import io.l4mesh.node.packet.NetNamespace;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Semaphore;

/**
 * Makes each lab node's admin API (127.0.0.1:{@value Lab#ADMIN_PORT} inside its namespace) reachable from the host
 * at 127.0.0.1:{@code basePort + i}, so that Prometheus, Grafana and {@code l4mesh status --admin} run on the host.
 * A TCP relay: the connection to the node is opened from a thread inside the node's namespace (a socket keeps the
 * namespace it was made in), then bytes are copied both ways.
 *
 * <p>Bounded: at most {@link #MAX_CONNECTIONS} relayed connections per node at a time; more wait for one to end.
 * Threading: one acceptor thread per node; two virtual threads per relayed connection.
 */
final class AdminForwarder implements AutoCloseable {
    static final int MAX_CONNECTIONS = 32;
    private final List<ServerSocket> listeners = new ArrayList<>();
    private final List<NetNamespace.Pinned> namespaces = new ArrayList<>();

    /** Listens on 127.0.0.1:{@code basePort + i} for each node {@code i} of {@code nodes}. */
    AdminForwarder(List<Integer> nodes, int basePort) throws IOException {
        try {
            for (int i : nodes) {
                ServerSocket server = new ServerSocket();
                server.setReuseAddress(true);
                listeners.add(server);
                server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), basePort + i));
                NetNamespace.Pinned ns = new NetNamespace.Pinned(Lab.nodeNamespace(i));
                namespaces.add(ns);
                Thread.ofPlatform().name("forward-node-" + i).daemon().start(() -> accept(server, ns));
            }
        } catch (IOException e) {
            close();
            throw new IOException("cannot listen on 127.0.0.1 for the nodes' admin APIs (ports from " + basePort
                + "): " + e.getMessage(), e);
        }
    }

    private static void accept(ServerSocket server, NetNamespace.Pinned ns) {
        Semaphore slots = new Semaphore(MAX_CONNECTIONS);
        while (!server.isClosed()) {
            Socket client;
            try {
                slots.acquire();
                client = server.accept();
            } catch (IOException | InterruptedException e) {
                slots.release();
                continue;   // closed (the loop ends) or one failed accept
            }
            Thread.ofVirtual().start(() -> {
                try (client; Socket node = ns.call(() -> {
                    Socket s = new Socket();
                    s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), Lab.ADMIN_PORT), 2000);
                    return s;
                })) {
                    Thread up = Thread.ofVirtual().start(() -> copy(client, node));
                    copy(node, client);
                    up.join();
                } catch (Exception e) {
                    // the node is not running (refused) or its namespace is gone: the client sees the close
                } finally {
                    slots.release();
                }
            });
        }
    }

    /** Copies until EOF, then passes the FIN on; an error (a reset) closes both, which ends the other direction. */
    private static void copy(Socket from, Socket to) {
        try {
            InputStream in = from.getInputStream();
            OutputStream out = to.getOutputStream();
            in.transferTo(out);
            to.shutdownOutput();
        } catch (IOException e) {
            closeQuietly(from);
            closeQuietly(to);
        }
    }

    private static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    @Override
    public void close() {
        listeners.forEach(AdminForwarder::closeQuietly);
        namespaces.forEach(NetNamespace.Pinned::close);
    }
}
