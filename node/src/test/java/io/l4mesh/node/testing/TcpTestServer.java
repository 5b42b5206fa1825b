package io.l4mesh.node.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP backend for tests on loopback, one virtual thread per connection, running a handler. Counts accepted
 * connections and keeps the open sockets so a test can reset or close them.
 */
public final class TcpTestServer implements AutoCloseable {
    /** What the server does with each accepted socket. */
    public interface Handler {
        void handle(Socket s, TcpTestServer server) throws IOException;
    }

    private final ServerSocket server;
    private final Handler handler;
    private final String name;
    private final AtomicInteger accepted = new AtomicInteger();
    private final List<Socket> open = new CopyOnWriteArrayList<>();

    public TcpTestServer(String name, Handler handler) throws IOException {
        this(name, handler, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 128);
    }

    public TcpTestServer(String name, Handler handler, InetSocketAddress bind, int backlog) throws IOException {
        this.name = name;
        this.handler = handler;
        this.server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(bind, backlog);
        if (handler != null) {
            Thread.ofVirtual().name(name + "-accept").start(this::acceptLoop);
        }
    }

    /** Answers each line with {@code <name> <line>} (so the client learns which backend it reached). */
    public static TcpTestServer named(String name) throws IOException {
        return new TcpTestServer(name, namedHandler());
    }

    /** The handler of {@link #named}, to run on another address. */
    public static Handler namedHandler() {
        return (s, srv) -> {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            StringBuilder line = new StringBuilder();
            int c;
            while ((c = in.read()) >= 0) {
                if (c == '\n') {
                    out.write((srv.name() + " " + line + "\n").getBytes(StandardCharsets.UTF_8));
                    out.flush();
                    line.setLength(0);
                } else {
                    line.append((char) c);
                }
            }
        };
    }

    /** Echoes every byte; on the client's FIN it finishes echoing and sends its own FIN. */
    public static TcpTestServer echo(String name) throws IOException {
        return new TcpTestServer(name, (s, srv) -> {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            byte[] buf = new byte[64 * 1024];
            int n;
            while ((n = in.read(buf)) >= 0) {
                out.write(buf, 0, n);
            }
            s.shutdownOutput();
        });
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            Socket s;
            try {
                s = server.accept();
            } catch (IOException e) {
                return;
            }
            accepted.incrementAndGet();
            open.add(s);
            Thread.ofVirtual().name(name + "-conn").start(() -> {
                try {
                    handler.handle(s, this);
                } catch (IOException ignored) {
                    // Resets and closes are what several tests provoke on purpose.
                } finally {
                    open.remove(s);
                    try {
                        s.close();
                    } catch (IOException ignored) {
                        // Closing a test socket: nothing to report.
                    }
                }
            });
        }
    }

    public String name() {
        return name;
    }

    public int port() {
        return server.getLocalPort();
    }

    /** {@code 127.0.0.1:PORT}, as a config's backend address. */
    public String address() {
        return "127.0.0.1:" + port();
    }

    public int accepted() {
        return accepted.get();
    }

    public List<Socket> openSockets() {
        return open;
    }

    /** Resets every open connection (SO_LINGER 0 then close: the kernel sends RST). */
    public void resetAll() throws IOException {
        for (Socket s : open) {
            s.setSoLinger(true, 0);
            s.close();
        }
    }

    /** Stops listening (new connects are refused); open connections stay. */
    @Override
    public void close() throws IOException {
        server.close();
    }
}
