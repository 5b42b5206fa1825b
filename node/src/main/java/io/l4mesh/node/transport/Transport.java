package io.l4mesh.node.transport;

import io.l4mesh.node.config.TransportKind;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.kqueue.KQueue;
import io.netty.channel.kqueue.KQueueDatagramChannel;
import io.netty.channel.kqueue.KQueueIoHandler;
import io.netty.channel.kqueue.KQueueServerSocketChannel;
import io.netty.channel.kqueue.KQueueSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringDatagramChannel;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.nio.channels.spi.SelectorProvider;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The I/O transport: native epoll on Linux, io_uring when asked (and the kernel allows it), kqueue on macOS, NIO
 * elsewhere (or when asked).
 *
 * @param newSocket a TCP channel of an address family, where the transport takes one (io_uring's does not)
 * @param newServer a listening TCP channel likewise (io_uring's and kqueue's take no family)
 * @param reusePort whether several sockets may bind one address ({@code UnixChannelOption.SO_REUSEPORT}, which
 *                  epoll and io_uring take), which lets each event loop own a listening socket or a UDP socket and
 *                  its share of the sessions
 */
public record Transport(String name, Supplier<IoHandlerFactory> ioHandlerFactory,
                        Class<? extends SocketChannel> socketChannel,
                        Class<? extends DatagramChannel> datagramChannel,
                        Function<SocketProtocolFamily, SocketChannel> newSocket,
                        Function<SocketProtocolFamily, ServerSocketChannel> newServer,
                        boolean reusePort) {

    /** The transport for {@code kind}; AUTO falls back to NIO when no native one loads. */
    public static Transport select(TransportKind kind) {
        return switch (kind) {
            case EPOLL -> require(epoll(), "epoll", Epoll.unavailabilityCause());
            case IO_URING -> require(ioUring(), "io_uring", IoUring.unavailabilityCause());
            case KQUEUE -> require(kqueue(), "kqueue", KQueue.unavailabilityCause());
            case NIO -> nio();
            case AUTO -> Epoll.isAvailable() ? epoll() : KQueue.isAvailable() ? kqueue() : nio();
        };
    }

    private static Transport require(Transport t, String name, Throwable cause) {
        if (cause != null) {
            throw new IllegalStateException("transport " + name + " is not available here: " + cause.getMessage());
        }
        return t;
    }

    private static Transport epoll() {
        // Netty's epoll handler, keeping half-closed sockets in epoll (see EpollKeepRegistered).
        return new Transport("epoll", EpollKeepRegistered::factory,
            EpollSocketChannel.class, EpollDatagramChannel.class, EpollSocketChannel::new,
            EpollServerSocketChannel::new, true);
    }

    private static Transport ioUring() {
        return new Transport("io_uring", IoUringIoHandler::newFactory,
            IoUringSocketChannel.class, IoUringDatagramChannel.class, family -> new IoUringSocketChannel(),
            family -> new IoUringServerSocketChannel(), true);
    }

    private static Transport kqueue() {
        return new Transport("kqueue", KQueueIoHandler::newFactory,
            KQueueSocketChannel.class, KQueueDatagramChannel.class, KQueueSocketChannel::new,
            family -> new KQueueServerSocketChannel(), false);
    }

    private static Transport nio() {
        return new Transport("nio", NioIoHandler::newFactory,
            NioSocketChannel.class, NioDatagramChannel.class,
            family -> new NioSocketChannel(SelectorProvider.provider(), family),
            family -> new NioServerSocketChannel(SelectorProvider.provider(), family), false);
    }

    /**
     * A new TCP channel for talking to {@code peer}, of the peer's address family where the transport takes one: an
     * IPv4 socket for an IPv4 peer, where the default dual-stack IPv6 socket costs an {@code IPV6_V6ONLY} call and
     * v4-mapped addresses on every connection.
     */
    public SocketChannel newSocketChannel(InetSocketAddress peer) {
        return newSocket.apply(familyOf(peer));
    }

    /** A new listening channel for {@code bind}, of its address family where the transport takes one. */
    public ServerSocketChannel newServerChannel(InetSocketAddress bind) {
        return newServer.apply(familyOf(bind));
    }

    private static SocketProtocolFamily familyOf(InetSocketAddress a) {
        return a.getAddress() instanceof Inet4Address ? SocketProtocolFamily.INET : SocketProtocolFamily.INET6;
    }

    /** A group of {@code threads} event loops (daemon threads named {@code prefix-N}). */
    public EventLoopGroup newGroup(int threads, String prefix) {
        return new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(prefix, true),
            ioHandlerFactory.get());
    }
}
