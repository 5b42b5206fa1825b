package io.l4mesh.node.proxy;

import io.l4mesh.node.transport.Transport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.timeout.IdleStateHandler;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * A TCP listener in proxy mode: accepts on its bind address and hands each connection to a
 * {@link TcpProxyConnection} on one of the worker event loops.
 */
public final class TcpListener implements ProxyListener {
    /** Per-direction buffering before back-pressure stops the other side's reads. */
    static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(64 * 1024, 256 * 1024);
    static final int ACCEPT_BACKLOG = 4096;

    private final ListenerRuntime runtime;
    private final Transport transport;
    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private Channel serverChannel;

    public TcpListener(ListenerRuntime runtime, Transport transport, EventLoopGroup boss, EventLoopGroup workers) {
        this.runtime = runtime;
        this.transport = transport;
        this.boss = boss;
        this.workers = workers;
    }

    @Override
    public void bind() throws Exception {
        ServerBootstrap b = new ServerBootstrap()
            .group(boss, workers)
            .channel(transport.serverChannel())
            .option(ChannelOption.SO_BACKLOG, ACCEPT_BACKLOG)
            .option(ChannelOption.SO_REUSEADDR, true)
            .childOption(ChannelOption.AUTO_READ, false)
            .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
            .childHandler(new ChannelInitializer<SocketChannel>() {
                @Override
                protected void initChannel(SocketChannel ch) {
                    long idleMs = runtime.idleTimeout().toMillis();
                    ch.pipeline().addLast(new IdleStateHandler(0, 0, idleMs, TimeUnit.MILLISECONDS));
                    ch.pipeline().addLast(new TcpProxyConnection(runtime, transport).clientHandler());
                }
            });
        ChannelFuture f = b.bind(runtime.config().bind().resolve()).sync();
        serverChannel = f.channel();
    }

    @Override
    public void stopAccepting() {
        if (serverChannel != null) {
            serverChannel.close().syncUninterruptibly();
        }
    }

    @Override
    public InetSocketAddress boundAddress() {
        return serverChannel == null ? null : (InetSocketAddress) serverChannel.localAddress();
    }

    @Override
    public ListenerRuntime runtime() {
        return runtime;
    }
}
