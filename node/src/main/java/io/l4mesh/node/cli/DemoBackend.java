package io.l4mesh.node.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A tiny backend for the demo: on TCP it answers each line with {@code <name> <line>}; on UDP each datagram with
 * {@code <name> <payload>}. Both on the same port. Virtual threads, one per connection.
 */
final class DemoBackend implements AutoCloseable {
    private final String name;
    private final ServerSocket tcp;
    private final DatagramSocket udp;

    DemoBackend(String name, InetSocketAddress address) throws IOException {
        this.name = name;
        this.tcp = new ServerSocket();
        this.tcp.setReuseAddress(true);
        this.udp = new DatagramSocket(null);
        // SO_REUSEPORT: a second demo backend can take over the same address before this one goes (the chaos suite
        // moves a backend behind an in-path proxy without a gap)
        if (tcp.supportedOptions().contains(java.net.StandardSocketOptions.SO_REUSEPORT)) {
            tcp.setOption(java.net.StandardSocketOptions.SO_REUSEPORT, true);
            udp.setOption(java.net.StandardSocketOptions.SO_REUSEPORT, true);
        }
        // a burst of connects (a mesh starting its traffic, a chaos run's 200 connections) must not overflow the
        // accept queue: Java's default backlog of 50 dropped SYNs, and the resent SYN came a second later
        this.tcp.bind(address, 1024);
        this.udp.bind(address);
        Thread.ofVirtual().name(name + "-tcp").start(this::acceptLoop);
        Thread.ofVirtual().name(name + "-udp").start(this::udpLoop);
    }

    int port() {
        return tcp.getLocalPort();
    }

    private void acceptLoop() {
        while (!tcp.isClosed()) {
            try {
                Socket s = tcp.accept();
                Thread.ofVirtual().start(() -> serve(s));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket s) {
        try (s; BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8))) {
            OutputStream out = s.getOutputStream();
            String line;
            while ((line = in.readLine()) != null) {
                out.write((name + " " + line + "\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
            }
        } catch (IOException ignored) {
            // The client went away; nothing to clean up beyond the socket.
        }
    }

    private void udpLoop() {
        byte[] buf = new byte[65535];
        while (!udp.isClosed()) {
            try {
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                udp.receive(p);
                byte[] reply = (name + " " + new String(p.getData(), 0, p.getLength(), StandardCharsets.UTF_8).strip())
                    .getBytes(StandardCharsets.UTF_8);
                udp.send(new DatagramPacket(reply, reply.length, p.getSocketAddress()));
            } catch (IOException e) {
                if (udp.isClosed()) {
                    return;
                }
            }
        }
    }

    @Override
    public void close() throws IOException {
        tcp.close();
        udp.close();
    }
}
