package io.l4mesh.node.proxy;

import io.l4mesh.node.routing.BackendRuntime;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;

/**
 * One client's UDP session: a socket connected to the chosen backend. Datagrams that arrive before that socket
 * is connected wait in a short queue (bounded; overflow is dropped).
 *
 * <p>Threading: owned by its {@link UdpShard}'s event loop; the backend socket is registered on the same loop.
 */
@ChannelHandler.Sharable
final class UdpSession extends ChannelInboundHandlerAdapter {
    static final int MAX_PENDING = 64;

    private final UdpShard shard;
    private final InetSocketAddress client;
    private final BackendRuntime backend;
    private ArrayDeque<ByteBuf> pending = new ArrayDeque<>(4);
    private Channel channel;
    private long lastSeenNanos;
    private boolean closed;

    UdpSession(UdpShard shard, InetSocketAddress client, BackendRuntime backend) {
        this.shard = shard;
        this.client = client;
        this.backend = backend;
    }

    InetSocketAddress client() {
        return client;
    }

    BackendRuntime backend() {
        return backend;
    }

    long lastSeenNanos() {
        return lastSeenNanos;
    }

    void touch(long nowNanos) {
        lastSeenNanos = nowNanos;
    }

    /** Sends a datagram's payload to the backend; takes ownership of {@code payload}. */
    void send(ByteBuf payload) {
        if (channel != null) {
            channel.writeAndFlush(payload, channel.voidPromise());
        } else if (!closed && pending.size() < MAX_PENDING) {
            pending.add(payload);
        } else {
            payload.release();
        }
    }

    void connected(Channel ch) {
        if (closed) {
            ch.close();
            return;
        }
        channel = ch;
        ByteBuf buf;
        while ((buf = pending.poll()) != null) {
            ch.write(buf, ch.voidPromise());
        }
        ch.flush();
        pending = null;
    }

    void close() {
        if (closed) {
            return;
        }
        closed = true;
        backend.release();
        if (pending != null) {
            pending.forEach(ReferenceCountUtil::release);
            pending.clear();
        }
        if (channel != null) {
            channel.close();
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof DatagramPacket packet && !closed) {
            lastSeenNanos = System.nanoTime();
            shard.reply(this, packet);
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        shard.failed(this, cause);
    }
}
