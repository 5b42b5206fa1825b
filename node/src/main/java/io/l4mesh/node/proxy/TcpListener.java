package io.l4mesh.node.proxy;

import io.l4mesh.node.transport.Transport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.unix.UnixChannelOption;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.concurrent.EventExecutor;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * A TCP listener in proxy mode: accepts on its bind address and hands each connection to a
 * {@link TcpProxyConnection}.
 *
 * <p>On Linux every worker event loop has its own listening socket (SO_REUSEPORT): the kernel spreads incoming
 * connections over them and each loop accepts its own, with no hand-off between threads. Elsewhere one accept
 * loop hands connections to the workers.
 */
public final class TcpListener implements ProxyListener {
    /** Per-direction buffering before back-pressure stops the other side's reads. */
    static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(64 * 1024, 256 * 1024);
    static final int ACCEPT_BACKLOG = 4096;

    private final ListenerRuntime runtime;
    private final Transport transport;
    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final BackendConnector connector;
    private final List<Channel> serverChannels = new ArrayList<>();

    public TcpListener(ListenerRuntime runtime, Transport transport, EventLoopGroup boss, EventLoopGroup workers) {
        this.runtime = runtime;
        this.transport = transport;
        this.boss = boss;
        this.workers = workers;
        this.connector = new BackendConnector(transport);
    }

    @Override
    public void bind() throws Exception {
        InetSocketAddress address = runtime.config().bind().resolve();
        try {
            if (transport.reusePort()) {
                for (EventExecutor e : workers) {
                    EventLoop loop = (EventLoop) e;
                    Channel ch = bootstrap(loop, loop, address).option(UnixChannelOption.SO_REUSEPORT, true)
                        .bind(address).sync().channel();
                    serverChannels.add(ch);
                    address = (InetSocketAddress) ch.localAddress();   // port 0: the others join this port
                }
            } else {
                serverChannels.add(bootstrap(boss, workers, address).bind(address).sync().channel());
            }
        } catch (Exception e) {
            stopAccepting();
            throw e;
        }
    }

    private ServerBootstrap bootstrap(EventLoopGroup parent, EventLoopGroup child, InetSocketAddress address) {
        return new ServerBootstrap()
            .group(parent, child)
            .channelFactory(() -> transport.newServerChannel(address))
            .option(ChannelOption.SO_BACKLOG, ACCEPT_BACKLOG)
            .option(ChannelOption.SO_REUSEADDR, true)
            .childOption(ChannelOption.AUTO_READ, false)
            .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
            // TCP_NODELAY is on: Netty's socket configs set it when they are made (setting it again costs a call).
            .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
            .childHandler(new ChannelInitializer<SocketChannel>() {
                @Override
                protected void initChannel(SocketChannel ch) {
                    ch.pipeline().addLast(new TcpProxyConnection(runtime, connector).clientHandler());
                }
            });
    }

    @Override
    public void stopAccepting() {
        for (Channel ch : serverChannels) {
            ch.close().syncUninterruptibly();
        }
        serverChannels.clear();
    }

    @Override
    public InetSocketAddress boundAddress() {
        return serverChannels.isEmpty() ? null : (InetSocketAddress) serverChannels.get(0).localAddress();
    }

    @Override
    public ListenerRuntime runtime() {
        return runtime;
    }
}
