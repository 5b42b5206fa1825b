package io.l4mesh.node.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelConfig;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoop;
import io.netty.channel.ReflectiveChannelFactory;
import io.netty.channel.socket.SocketChannel;
import java.net.SocketAddress;

/**
 * Opens backend connections without a {@code Bootstrap} per connection: the channel factory (and its reflective
 * constructor lookup) is made once, and each connection only creates, configures, registers and connects its
 * channel on the client's event loop.
 *
 * <p>Threading: {@link #connect} must be called on {@code loop}; the connector itself is immutable.
 */
final class BackendConnector {
    private final ChannelFactory<? extends SocketChannel> factory;

    BackendConnector(Class<? extends SocketChannel> channelType) {
        this.factory = new ReflectiveChannelFactory<>(channelType);
    }

    /** Connects to {@code address}; the returned future completes when the TCP handshake does (or fails). */
    ChannelFuture connect(EventLoop loop, SocketAddress address, ChannelHandler handler, int timeoutMs) {
        Channel ch = factory.newChannel();
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
