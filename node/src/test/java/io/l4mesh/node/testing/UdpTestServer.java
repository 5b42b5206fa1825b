package io.l4mesh.node.testing;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/** A UDP backend for tests: answers each datagram with {@code <name> <payload>}; remembers who sent. */
public final class UdpTestServer implements AutoCloseable {
    private final String name;
    private final DatagramSocket socket;
    private final AtomicInteger received = new AtomicInteger();
    private final Set<SocketAddress> peers = ConcurrentHashMap.newKeySet();

    public UdpTestServer(String name) throws IOException {
        this.name = name;
        this.socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        Thread.ofVirtual().name(name).start(this::loop);
    }

    private void loop() {
        byte[] buf = new byte[65535];
        while (!socket.isClosed()) {
            try {
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                socket.receive(p);
                received.incrementAndGet();
                peers.add(p.getSocketAddress());
                byte[] reply = (name + " " + new String(p.getData(), 0, p.getLength(), StandardCharsets.UTF_8))
                    .getBytes(StandardCharsets.UTF_8);
                socket.send(new DatagramPacket(reply, reply.length, p.getSocketAddress()));
            } catch (IOException e) {
                if (socket.isClosed()) {
                    return;
                }
            }
        }
    }

    public String name() {
        return name;
    }

    public String address() {
        return "127.0.0.1:" + socket.getLocalPort();
    }

    public int received() {
        return received.get();
    }

    /** Distinct source addresses seen: one per proxy session. */
    public int peers() {
        return peers.size();
    }

    @Override
    public void close() {
        socket.close();
    }
}
