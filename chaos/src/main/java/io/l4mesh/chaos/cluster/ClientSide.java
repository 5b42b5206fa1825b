package io.l4mesh.chaos.cluster;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SocketChannel;

/**
 * Where the chaos suite's clients stand: sockets are opened there (in the lab, inside the client namespace) and
 * may then be used from any thread. Targets are the VIP (lab) or the nodes' listeners (loopback).
 */
public interface ClientSide {
    /** A new, unconnected TCP channel on the client side. */
    SocketChannel openTcp() throws IOException;

    /** A new UDP channel on the client side. */
    DatagramChannel openUdp() throws IOException;

    /** Where TCP connection number {@code i} goes. */
    InetSocketAddress tcpTarget(int i);

    /** Where UDP flow number {@code i} goes. */
    InetSocketAddress udpTarget(int i);
}
