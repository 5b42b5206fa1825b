package io.l4mesh.node.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelConfig;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoop;
import io.l4mesh.node.transport.Transport;
import java.net.InetSocketAddress;

/**
 * Opens backend connections without a {@code Bootstrap} per connection (and without its reflective channel
 * factory): each connection only creates a channel of the backend's address family, configures, registers and
 * connects it on the client's event loop.
 *
 * <p>Threading: {@link #connect} must be called on {@code loop}; the connector itself is immutable.
 */
final class BackendConnector {
    private final Transport transport;

    BackendConnector(Transport transport) {
        this.transport = transport;
    }

    /** Connects to {@code address}; the returned future completes when the TCP handshake does (or fails). */
    ChannelFuture connect(EventLoop loop, InetSocketAddress address, ChannelHandler handler, int timeoutMs) {
        Channel ch = transport.newSocketChannel(address);
        ChannelConfig c = ch.config();
        c.setAutoRead(false);
        c.setConnectTimeoutMillis(timeoutMs);
        c.setWriteBufferWaterMark(TcpListener.WATER_MARK);
        c.setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
        // TCP_NODELAY: Netty's socket configs turn it on when they are made; setting it again is a system call.
        ch.pipeline().addLast(handler);
        ChannelPromise promise = ch.newPromise();
        promise.addListener(ChannelFutureListener.CLOSE_ON_FAILURE);   // a failed attempt must not keep its fd
        loop.register(ch).addListener(reg -> {
            if (reg.isSuccess()) {
                ch.connect(address, promise);
            } else {
                ch.unsafe().closeForcibly();
                promise.setFailure(reg.cause());
            }
        });
        return promise;
    }
}
