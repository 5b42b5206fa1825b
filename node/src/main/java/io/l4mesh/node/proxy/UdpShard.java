package io.l4mesh.node.proxy;

import io.l4mesh.hashring.FlowHash;
import io.l4mesh.node.flow.FlowClock;
import io.l4mesh.node.flow.FlowTable;
import io.l4mesh.node.routing.BackendRuntime;
import io.l4mesh.node.routing.Placement;
import io.l4mesh.node.routing.PoolRuntime;
import io.l4mesh.node.routing.RoutingSnapshot;
import io.l4mesh.node.transport.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One UDP listening socket and its session table: client address to a connected socket toward the backend.
 * Replies come back through the listening socket, so the client sees them from the address it sent to.
 *
 * <p>Sessions expire after the listener's idle timeout; the table is bounded by the listener's
 * {@code maxConnections} (shared by its shards), and a datagram that would need a session past the bound is
 * dropped and counted. A session whose backend is removed or goes down is rehashed on its next datagram.
 *
 * <p>Each client's backend is also recorded in the shard's flow table (the packet path's table: no object per
 * flow), which outlives the session by the UDP flow timeout (the idle timeout, at least a second): a client that
 * comes back after its session expired returns to its backend even if the pool changed meanwhile, as long as that
 * backend is up. {@code /lookup} answers from it.
 *
 * <p>Threading: the socket's event loop owns the table and every session in it; session sockets are registered
 * on the same loop.
 */
final class UdpShard extends ChannelInboundHandlerAdapter {
    static final long SWEEP_INTERVAL_MS = 1000;

    private final ListenerRuntime listener;
    private final Transport transport;
    private final Map<InetSocketAddress, UdpSession> sessions = new HashMap<>();
    private final int shards;
    private Channel front;
    private ScheduledFuture<?> sweeper;
    private FlowTable flows;

    UdpShard(ListenerRuntime listener, Transport transport, int shards) {
        this.listener = listener;
        this.transport = transport;
        this.shards = shards;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        front = ctx.channel();
        int timeout = (int) Math.min(FlowTable.MAX_TIMEOUT_SECONDS,
            Math.max(1, (listener.idleTimeout().toMillis() + 999) / 1000));
        flows = new FlowTable(Math.max(1000, listener.config().maxConnections() / shards),
            new int[] {1, timeout, timeout, timeout}, true);
        listener.addFlowTable(flows);
        long every = Math.max(10, Math.min(SWEEP_INTERVAL_MS, listener.idleTimeout().toMillis() / 4));
        sweeper = ctx.executor().scheduleAtFixedRate(this::sweep, every, every, TimeUnit.MILLISECONDS);
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof DatagramPacket packet)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        InetSocketAddress client = packet.sender();
        listener.datagramsIn.increment();
        listener.bytesIn.add(packet.content().readableBytes());
        UdpSession s = sessions.get(client);
        if (s != null && !s.backend().keepsFlows()) {
            close(s);
            s = null;
        }
        if (s == null) {
            s = open(client);
            if (s == null) {
                packet.release();
                return;
            }
        }
        s.touch(System.nanoTime());
        s.send(packet.content());
    }

    private UdpSession open(InetSocketAddress client) {
        if (!listener.tryAcquire()) {
            return null;
        }
        PoolRuntime pool = listener.pool();
        RoutingSnapshot snapshot = pool.snapshot();
        InetSocketAddress local = (InetSocketAddress) front.localAddress();
        long seed = snapshot.table().algorithm().flowSeed();
        byte[] src = client.getAddress().getAddress();
        long hi = FlowTable.keyHi(src);
        long lo = FlowTable.keyLo(src);
        int ports = FlowTable.ports(client.getPort(), local.getPort());
        int now = FlowClock.seconds();
        int maxPerBackend = pool.settings().maxConnectionsPerBackend();
        long slot = flows.find(hi, lo, ports);
        if (slot >= 0 && flows.isExpired(slot, now)) {
            flows.remove(slot);
            slot = -1;
        }
        BackendRuntime b = null;
        if (slot >= 0) {
            // the recorded backend while it takes flows (Placement's rules), if this node reaches it and it has room
            int idx = Placement.kept(snapshot, flows.backendId(slot));
            BackendRuntime recorded = idx < 0 ? null : snapshot.backendAt(idx);
            if (recorded != null && recorded.locallyUp() && recorded.tryAcquire(maxPerBackend)) {
                b = recorded;
                flows.touch(slot, now, FlowTable.ESTABLISHED);
            }
        }
        if (b == null) {
            long flowHash = FlowHash.of(seed, src, client.getPort(), local.getAddress().getAddress(), local.getPort(),
                FlowHash.PROTO_UDP);
            b = snapshot.choose(listener.config().algorithm(), flowHash, FlowHash.sourceOnly(seed, src),
                pool.nextTicket(), null, 0, maxPerBackend);
            if (b == null) {
                listener.release();
                listener.rejectedNoBackend.increment();
                return null;
            }
            if (slot >= 0) {
                flows.update(slot, b.flowId(), FlowTable.versionNow(), FlowTable.ESTABLISHED, now);
            } else {
                flows.insert(hi, lo, ports, b.flowId(), FlowTable.versionNow(), FlowTable.ESTABLISHED, now);
            }
        }
        BackendRuntime chosen = b;
        chosen.recordFlow();
        listener.accepted.increment();
        UdpSession s = new UdpSession(this, client, chosen);
        sessions.put(client, s);
        Bootstrap bootstrap = new Bootstrap()
            .group(front.eventLoop())
            .channel(transport.datagramChannel())
            .handler(s);
        bootstrap.connect(chosen.socketAddress()).addListener((ChannelFutureListener) f -> {
            if (f.isSuccess()) {
                s.connected(f.channel());
            } else {
                chosen.recordConnectFailure();
                close(s);
            }
        });
        return s;
    }

    /** The session ended: its flow entry's clock starts from now, so the client's backend is remembered a while. */
    private void remember(UdpSession s) {
        byte[] src = s.client().getAddress().getAddress();
        long slot = flows.find(FlowTable.keyHi(src), FlowTable.keyLo(src),
            FlowTable.ports(s.client().getPort(), ((InetSocketAddress) front.localAddress()).getPort()));
        if (slot >= 0) {
            flows.touch(slot, FlowClock.seconds(), FlowTable.ESTABLISHED);
        }
    }

    /** A reply from a session's backend: send it to the client from the listening socket. */
    void reply(UdpSession s, DatagramPacket packet) {
        if (front == null || !front.isActive()) {
            packet.release();
            return;
        }
        listener.datagramsOut.increment();
        listener.bytesOut.add(packet.content().readableBytes());
        front.writeAndFlush(new DatagramPacket(packet.content(), s.client()), front.voidPromise());
    }

    /** A session's backend socket failed (ICMP port unreachable, usually): end the session. */
    void failed(UdpSession s, Throwable cause) {
        if (!(cause instanceof java.io.IOException)) {
            listener.errors().record("udp.session", cause);
        }
        int streak = s.backend().recordConnectFailure();
        PoolRuntime pool = listener.pool();
        if (streak >= pool.settings().healthCheck().fall()) {
            String id = s.backend().id();
            listener.control().execute(() -> pool.onPassiveFailures(id, streak));
        }
        close(s);
    }

    void close(UdpSession s) {
        if (sessions.remove(s.client(), s)) {
            s.close();
            listener.release();
        }
    }

    private void sweep() {
        flows.sweep(FlowClock.seconds(), flows.capacity() / 10 + 1, null);
        long idleNanos = listener.idleTimeout().toNanos();
        long now = System.nanoTime();
        for (Iterator<UdpSession> it = sessions.values().iterator(); it.hasNext(); ) {
            UdpSession s = it.next();
            if (now - s.lastSeenNanos() > idleNanos) {
                it.remove();
                remember(s);
                s.close();
                listener.release();
                listener.idleTimeouts.increment();
            }
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (sweeper != null) {
            sweeper.cancel(false);
        }
        for (UdpSession s : sessions.values()) {
            s.close();
            listener.release();
        }
        sessions.clear();
        if (flows != null) {
            listener.removeFlowTable(flows);
            flows.close();
            flows = null;
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // A listening UDP socket can report ICMP errors for earlier replies; they concern no session we keep.
        if (cause instanceof java.io.IOException) {
            listener.resetsFromClient.increment();     // a client's ICMP error for a reply sent to it
        } else {
            listener.errors().record("udp.listener", cause);
        }
    }
}
