package io.l4mesh.node.proxy;

import io.l4mesh.hashring.FlowHash;
import io.l4mesh.node.config.PoolConfig;
import io.l4mesh.node.routing.BackendRuntime;
import io.l4mesh.node.routing.PoolRuntime;
import io.l4mesh.node.routing.RoutingSnapshot;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.channel.unix.Socket;
import io.netty.channel.unix.UnixChannel;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * One proxied TCP connection: the client's channel, the backend's, and the relay between them.
 *
 * <p>Behaviour, as HAProxy in {@code mode tcp}:
 * <ul>
 *   <li>Backend choice by the listener's algorithm; a failed connect tries the next backend in hash order, up to
 *       {@link #MAX_CONNECT_ATTEMPTS} backends, then resets the client.</li>
 *   <li>Back-pressure: a side stops reading while the other side's outbound buffer is above its high water mark,
 *       and resumes when it drains.</li>
 *   <li>Half-close: a FIN from one side becomes a FIN (shutdown of output) toward the other, after the data
 *       before it; the connection closes when both directions are done.</li>
 *   <li>A reset or error on one side becomes a reset (SO_LINGER 0 close) on the other.</li>
 *   <li>Idle timeout: no byte in either direction for the listener's idle time closes both sides. Each read
 *       stamps the time; one timer per connection wakes when the time could be up and sleeps again for the rest
 *       (Netty's {@code IdleStateHandler} would also watch writes, with a promise and a listener per write).</li>
 * </ul>
 *
 * <p>Threading: both channels are on the client channel's event loop, which owns every field here.
 */
final class TcpProxyConnection {
    /** Backends tried for one new connection before giving up (HAProxy's {@code retries 3} gives 4). */
    static final int MAX_CONNECT_ATTEMPTS = 3;

    private final ListenerRuntime listener;
    private final BackendConnector connector;
    private final Side clientSide = new Side(true);
    private final Side backendSide = new Side(false);
    private final BackendRuntime[] tried = new BackendRuntime[MAX_CONNECT_ATTEMPTS];

    private Channel client;
    private Channel backend;
    private BackendRuntime chosen;
    private PoolRuntime pool;
    private RoutingSnapshot snapshot;
    private long flowHash;
    private long sourceHash;
    private long ticket;
    private int attempts;
    private long connectStartNanos;
    /** When the client's connection was accepted, until the backend's first byte is timed (then 0). */
    private long acceptNanos;
    private boolean admitted;
    private boolean closing;
    /**
     * Client data read before the backend connected. Reads are off until then, but epoll still reads once when a
     * FIN (RDHUP) arrives early, so a short request followed by a half-close must wait here, not be lost.
     */
    private ArrayDeque<Object> early;
    private boolean clientEofBeforeConnect;
    private long idleNanos;
    /** When a byte last came in from either side. */
    private long lastReadNanos;
    private ScheduledFuture<?> idleTimer;

    TcpProxyConnection(ListenerRuntime listener, BackendConnector connector) {
        this.listener = listener;
        this.connector = connector;
    }

    /** The handler for the client's pipeline. */
    ChannelInboundHandlerAdapter clientHandler() {
        return clientSide;
    }

    private void start(Channel clientChannel) {
        client = clientChannel;
        acceptNanos = System.nanoTime();
        if (!listener.tryAcquire()) {
            reset(client);
            return;
        }
        admitted = true;
        listener.accepted.increment();
        idleNanos = listener.idleTimeout().toNanos();
        lastReadNanos = acceptNanos;
        if (idleNanos > 0) {
            idleTimer = client.eventLoop().schedule(this::idleCheck, idleNanos, TimeUnit.NANOSECONDS);
        }
        pool = listener.pool();
        snapshot = pool.snapshot();
        InetSocketAddress src = (InetSocketAddress) client.remoteAddress();
        InetSocketAddress dst = (InetSocketAddress) client.localAddress();
        long seed = snapshot.table().algorithm().flowSeed();
        byte[] srcAddr = src.getAddress().getAddress();
        flowHash = FlowHash.of(seed, srcAddr, src.getPort(), dst.getAddress().getAddress(), dst.getPort(),
            FlowHash.PROTO_TCP);
        sourceHash = FlowHash.sourceOnly(seed, srcAddr);
        ticket = pool.nextTicket();
        connectNext();
    }

    private void connectNext() {
        PoolConfig settings = pool.settings();
        BackendRuntime b = attempts < MAX_CONNECT_ATTEMPTS
            ? snapshot.choose(listener.config().algorithm(), flowHash, sourceHash, ticket, tried, attempts,
                settings.maxConnectionsPerBackend())
            : null;
        if (b == null) {
            (attempts == 0 ? listener.rejectedNoBackend : listener.rejectedConnectFailed).increment();
            reset(client);
            return;
        }
        tried[attempts++] = b;
        chosen = b;
        int timeoutMs = (int) Math.min(Integer.MAX_VALUE, settings.connectTimeout().toMillis());
        connectStartNanos = System.nanoTime();
        connector.connect(client.eventLoop(), b.socketAddress(), backendSide, timeoutMs)
            .addListener((ChannelFutureListener) this::connected);
    }

    private void connected(ChannelFuture f) {
        BackendRuntime b = chosen;
        if (!f.isSuccess()) {
            b.release();
            int streak = b.recordConnectFailure();
            if (streak >= pool.settings().healthCheck().fall()) {
                PoolRuntime p = pool;
                listener.control().execute(() -> p.onPassiveFailures(b.id(), streak));
            }
            if (client.isActive()) {
                connectNext();
            }
            return;
        }
        backend = f.channel();
        b.recordConnectSuccess(System.nanoTime() - connectStartNanos);
        b.recordFlow();
        if (attempts > 1) {
            listener.retried.increment();
        }
        if (!client.isActive()) {
            reset(backend);   // the client is gone (reset or error) before its backend was up: abort, like it did
            return;
        }
        ByteBuf header = ProxyProtocolHeader.encode(pool.settings().proxyProtocol(),
            (InetSocketAddress) client.remoteAddress(), (InetSocketAddress) client.localAddress(), backend.alloc());
        if (header != null) {
            backend.writeAndFlush(header, backend.voidPromise());
        }
        if (early != null) {
            Object msg;
            while ((msg = early.poll()) != null) {
                backend.write(msg, backend.voidPromise());
            }
            early = null;
            backend.flush();
        }
        backend.config().setAutoRead(true);
        if (clientEofBeforeConnect) {
            inputShutdown(true);
        } else {
            client.config().setAutoRead(true);
        }
    }

    /** Also after a graceful close began: a peer that never reads must not hold the connection open. */
    private void idleCheck() {
        long left = idleNanos - (System.nanoTime() - lastReadNanos);
        if (left > 0) {
            idleTimer = client.eventLoop().schedule(this::idleCheck, left, TimeUnit.NANOSECONDS);
            return;
        }
        listener.idleTimeouts.increment();
        closeBoth();
    }

    private void cancelIdleTimer() {
        if (idleTimer != null) {
            idleTimer.cancel(false);
            idleTimer = null;
        }
    }

    private Channel peer(boolean fromClient) {
        return fromClient ? backend : client;
    }

    private void relay(Object msg, boolean fromClient) {
        lastReadNanos = System.nanoTime();
        Channel to = peer(fromClient);
        if (to == null && fromClient && !closing) {
            if (early == null) {
                early = new ArrayDeque<>(2);
            }
            early.add(msg);
            if (msg instanceof ByteBuf buf) {
                listener.bytesIn.add(buf.readableBytes());
            }
            return;
        }
        if (to == null || closing) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof ByteBuf buf) {
            (fromClient ? listener.bytesIn : listener.bytesOut).add(buf.readableBytes());
            if (!fromClient && acceptNanos != 0 && buf.isReadable() && chosen != null) {
                chosen.record(BackendRuntime.Latency.FIRST_BYTE, System.nanoTime() - acceptNanos);
                acceptNanos = 0;
            }
        }
        to.write(msg, to.voidPromise());
    }

    private void readComplete(Channel from, boolean fromClient) {
        Channel to = peer(fromClient);
        if (to == null) {
            return;
        }
        to.flush();
        if (!to.isWritable()) {
            from.config().setAutoRead(false);
        }
    }

    private void writabilityChanged(Channel ch, boolean isClient) {
        Channel other = peer(isClient);
        if (ch.isWritable() && other != null && other.isActive() && !((DuplexChannel) other).isInputShutdown()) {
            // Never re-arm reads on a socket whose input is shut: epoll no longer watches it.
            other.config().setAutoRead(true);
        }
    }

    /** EOF from one side: pass the FIN on after the data that came before it. */
    private void inputShutdown(boolean fromClient) {
        Channel to = peer(fromClient);
        if (to == null && fromClient && !closing) {
            clientEofBeforeConnect = true;
            return;
        }
        if (to == null || !to.isActive()) {
            closeBoth();
            return;
        }
        if (((DuplexChannel) to).isInputShutdown()) {
            // Its FIN came first, so this FIN ends the connection: close it after its pending data, which sends
            // the same FIN a shutdown would and spares Netty's shutdownOutput (one more system call, and an
            // exception with a stack trace that Netty makes for every shutdown). Its going inactive then closes
            // this side after this side's pending data, as any close does.
            to.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        to.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener((ChannelFutureListener) f -> {
            if (f.isSuccess() && to.isActive()) {
                // Its own FIN, when it comes, ends the connection: with half-closure off Netty closes the channel
                // at that FIN (its going inactive closes the other side after its pending data), instead of a
                // shutdown(SHUT_RD) that would fail with ENOTCONN, and an exception for it.
                to.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, false);
                shutdownOutput(to);
            }
        });
        closeIfDone();
    }

    /**
     * Sends the FIN toward {@code ch}, whose pending data is flushed. On a native transport this is shutdown(2) on
     * the socket itself: Netty's {@code shutdownOutput} makes an exception with a stack trace on every call (to
     * fail pending writes with, and there are none), a few percent of the node's CPU at a high connection rate.
     * Nothing is written to {@code ch} after its FIN but empty buffers, which make no system call.
     */
    private void shutdownOutput(Channel ch) {
        if (ch instanceof UnixChannel u && u.fd() instanceof Socket socket) {
            try {
                socket.shutdown(false, true);
            } catch (IOException e) {
                ch.close();   // the socket is gone (a reset): its going inactive ends the connection
                return;
            }
            closeIfDone();
        } else {
            ((DuplexChannel) ch).shutdownOutput().addListener((ChannelFutureListener) g -> closeIfDone());
        }
    }

    private void closeIfDone() {
        if (done(client) && done(backend)) {
            closeBoth();
        }
    }

    private static boolean done(Channel ch) {
        return ch == null || !ch.isActive()
            || ((DuplexChannel) ch).isInputShutdown() && ((DuplexChannel) ch).isOutputShutdown();
    }

    private void closeBoth() {
        closing = true;
        releaseEarly();
        if (client != null) {
            client.close();
        }
        if (backend != null) {
            backend.close();
        }
    }

    /** A side closed: close the other after its pending data (graceful), unless a reset already went out. */
    private void inactive(boolean isClient) {
        if (isClient) {
            cancelIdleTimer();
            if (admitted) {
                admitted = false;
                listener.release();
            }
        } else if (chosen != null && backend != null) {
            chosen.release();
            chosen = null;
        }
        if (closing) {
            return;
        }
        closing = true;
        releaseEarly();
        Channel other = peer(isClient);
        if (other != null && other.isActive()) {
            other.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
    }

    /** An error on one side (a reset, usually): reset the other side and close this one. */
    private void failed(Channel ch, boolean isClient, Throwable cause) {
        if (!closing) {
            closing = true;
            releaseEarly();
            if (cause instanceof IOException) {
                (isClient ? listener.resetsFromClient : listener.resetsFromBackend).increment();
            } else {
                listener.errors().record("tcp.relay", cause);
            }
            Channel other = peer(isClient);
            if (other != null) {
                reset(other);
            }
        }
        ch.close();
    }

    private void releaseEarly() {
        if (early != null) {
            early.forEach(ReferenceCountUtil::release);
            early = null;
        }
    }

    /** Closes with SO_LINGER 0, which sends a TCP RST instead of a FIN. */
    private static void reset(Channel ch) {
        if (ch.isOpen()) {
            try {
                ch.config().setOption(ChannelOption.SO_LINGER, 0);
            } catch (RuntimeException ignored) {
                // The socket is already gone; a plain close is all that is left.
            }
            ch.close();
        }
    }

    /**
     * The handler of one side's pipeline; each connection has two. Sharable only so that the backend side can be
     * added to each connect attempt's channel in turn: it still serves one connection.
     */
    @ChannelHandler.Sharable
    private final class Side extends ChannelInboundHandlerAdapter {
        private final boolean isClient;

        Side(boolean isClient) {
            this.isClient = isClient;
        }

        /** An event from an earlier, failed connect attempt's channel: it concerns this connection no more. */
        private boolean stale(ChannelHandlerContext ctx) {
            return !isClient && ctx.channel() != backend;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            if (isClient) {
                start(ctx.channel());
            }
            ctx.fireChannelActive();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (stale(ctx)) {
                ReferenceCountUtil.release(msg);
                return;
            }
            relay(msg, isClient);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            if (stale(ctx)) {
                return;
            }
            readComplete(ctx.channel(), isClient);
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (stale(ctx)) {
                return;
            }
            writabilityChanged(ctx.channel(), isClient);
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (stale(ctx)) {
                return;
            }
            if (evt instanceof ChannelInputShutdownEvent) {
                inputShutdown(isClient);
            } else {
                ctx.fireUserEventTriggered(evt);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (stale(ctx)) {
                return;
            }
            inactive(isClient);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (stale(ctx)) {
                ctx.close();
                return;
            }
            failed(ctx.channel(), isClient, cause);
        }
    }
}
