package io.l4mesh.node.proxy;

import io.l4mesh.node.transport.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.unix.UnixChannelOption;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * A UDP listener in proxy mode. On Linux it binds one socket per event loop with SO_REUSEPORT, so the kernel
 * spreads clients over the loops (always the same loop for one client address) and each loop owns the session
 * table of its socket; elsewhere one socket serves all clients.
 */
public final class UdpListener implements ProxyListener {
    private final ListenerRuntime runtime;
    private final Transport transport;
    private final EventLoopGroup workers;
    private final int shards;
    private final List<Channel> channels = new ArrayList<>();

    public UdpListener(ListenerRuntime runtime, Transport transport, EventLoopGroup workers, int workerThreads) {
        this.runtime = runtime;
        this.transport = transport;
        this.workers = workers;
        this.shards = transport.reusePort() ? workerThreads : 1;
    }

    @Override
    public void bind() throws Exception {
        InetSocketAddress address = runtime.config().bind().resolve();
        try {
            for (int i = 0; i < shards; i++) {
                Bootstrap b = new Bootstrap()
                    .group(workers)
                    .channel(transport.datagramChannel())
                    .option(ChannelOption.SO_RCVBUF, 4 * 1024 * 1024)
                    .option(ChannelOption.SO_SNDBUF, 4 * 1024 * 1024)
                    .handler(new UdpShard(runtime, transport, shards));
                if (shards > 1) {
                    b.option(UnixChannelOption.SO_REUSEPORT, true);
                }
                Channel ch = b.bind(address).sync().channel();
                channels.add(ch);
                // Port 0: the other shards join the port the first one got.
                address = (InetSocketAddress) ch.localAddress();
            }
        } catch (Exception e) {
            stopAccepting();
            throw e;
        }
    }

    @Override
    public void stopAccepting() {
        for (Channel ch : channels) {
            ch.close().syncUninterruptibly();
        }
        channels.clear();
    }

    @Override
    public InetSocketAddress boundAddress() {
        return channels.isEmpty() ? null : (InetSocketAddress) channels.get(0).localAddress();
    }

    @Override
    public ListenerRuntime runtime() {
        return runtime;
    }
}
