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
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringDatagramChannel;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.util.function.Supplier;

/**
 * The I/O transport: native epoll on Linux, io_uring when asked (and the kernel allows it), kqueue on macOS, NIO
 * elsewhere (or when asked).
 *
 * @param reusePort whether several sockets may bind one address ({@code UnixChannelOption.SO_REUSEPORT}, which
 *                  epoll and io_uring take), which lets each event loop own a listening socket or a UDP socket and
 *                  its share of the sessions
 */
public record Transport(String name, Supplier<IoHandlerFactory> ioHandlerFactory,
                        Class<? extends ServerSocketChannel> serverChannel,
                        Class<? extends SocketChannel> socketChannel,
                        Class<? extends DatagramChannel> datagramChannel,
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
        return new Transport("epoll", EpollKeepRegistered::factory, EpollServerSocketChannel.class,
            EpollSocketChannel.class, EpollDatagramChannel.class, true);
    }

    private static Transport ioUring() {
        return new Transport("io_uring", IoUringIoHandler::newFactory, IoUringServerSocketChannel.class,
            IoUringSocketChannel.class, IoUringDatagramChannel.class, true);
    }

    private static Transport kqueue() {
        return new Transport("kqueue", KQueueIoHandler::newFactory, KQueueServerSocketChannel.class,
            KQueueSocketChannel.class, KQueueDatagramChannel.class, false);
    }

    private static Transport nio() {
        return new Transport("nio", NioIoHandler::newFactory, NioServerSocketChannel.class,
            NioSocketChannel.class, NioDatagramChannel.class, false);
    }

    /** A group of {@code threads} event loops (daemon threads named {@code prefix-N}). */
    public EventLoopGroup newGroup(int threads, String prefix) {
        return new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(prefix, true),
            ioHandlerFactory.get());
    }
}
