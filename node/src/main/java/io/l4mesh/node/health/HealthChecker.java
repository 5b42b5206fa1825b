package io.l4mesh.node.health;

import io.l4mesh.node.config.HealthCheckConfig;
import io.l4mesh.node.packet.ProbeSteering;
import io.l4mesh.node.routing.BackendRuntime;
import io.l4mesh.node.routing.PoolRuntime;
import io.l4mesh.node.transport.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * Probes each backend with a TCP connect every {@code interval}, failing after {@code timeout}, and reports each
 * result to the control thread ({@link PoolRuntime#onProbe}), which applies rise/fall. With {@code expect} the probe
 * also writes {@code send} (if any) and must read the expected text within {@code timeout} after the connect.
 *
 * <p>With {@code through: tunnel}, a pool behind a packet-mode VIP is probed the way clients reach it: a connect to
 * the VIP's service from a source port that {@link ProbeSteering} maps to the backend, so the node's packet thread
 * encapsulates the SYN to that backend and the backend answers the node directly. A backend whose decapsulation or
 * VIP address is broken fails such a probe while its own address would still answer.
 *
 * <p>Threading: {@link #watch} and {@link #unwatch} may be called from any thread; the probe schedule is owned by
 * the checker's single event loop.
 */
public final class HealthChecker implements AutoCloseable {
    private static final ChannelInboundHandlerAdapter NO_HANDLER = new NoHandler();

    /** Fault seam: probes it names fail (tests and the chaos suite only). */
    private final io.l4mesh.node.fault.FaultInjector faults;
    private final EventLoopGroup loop;
    private final Transport transport;
    private final Executor control;
    /** Owned by the checker's event loop. */
    private final Map<BackendRuntime, ScheduledFuture<?>> probes = new HashMap<>();
    /** Owned by the checker's event loop: the steering whose slot each tunnel-probed backend holds. */
    private final Map<BackendRuntime, ProbeSteering> slotsHeld = new HashMap<>();
    /** Packet-mode VIPs by pool name, for probes through the tunnel. */
    private final Map<String, Tunnel> tunnels = new java.util.concurrent.ConcurrentHashMap<>();

    /** A pool's packet-mode VIP and its probe steering. */
    public record Tunnel(java.net.InetSocketAddress vip, ProbeSteering steering) {
    }

    /**
     * Probes of {@code pool} (when it asks for {@code through: tunnel}) go through this TCP VIP; the first one
     * registered for a pool serves (probes are TCP connects). Any thread.
     */
    public void tunnel(String pool, java.net.InetSocketAddress vip, ProbeSteering steering) {
        tunnels.putIfAbsent(pool, new Tunnel(vip, steering));
    }

    /** The VIP stopped: probes of {@code pool} go direct again. Any thread. */
    public void untunnel(String pool, ProbeSteering steering) {
        tunnels.computeIfPresent(pool, (k, t) -> t.steering() == steering ? null : t);
    }

    public HealthChecker(Transport transport, Executor control, io.l4mesh.node.fault.FaultInjector faults) {
        this.transport = transport;
        this.control = control;
        this.faults = faults;
        this.loop = transport.newGroup(1, "l4mesh-health");
    }

    /** Starts probing a backend; the first probe comes after a spread-out fraction of the interval. */
    public void watch(PoolRuntime pool, BackendRuntime backend) {
        long interval = pool.settings().healthCheck().interval().toMillis();
        long firstDelay = Math.floorMod(backend.id().hashCode(), (int) Math.max(1, interval));
        loop.execute(() -> schedule(pool, backend, firstDelay));
    }

    /** Stops probing a backend. */
    public void unwatch(BackendRuntime backend) {
        loop.execute(() -> {
            ScheduledFuture<?> f = probes.remove(backend);
            if (f != null) {
                f.cancel(false);
            }
            ProbeSteering held = slotsHeld.remove(backend);
            if (held != null) {
                held.release(backend.flowId());
            }
        });
    }

    private void schedule(PoolRuntime pool, BackendRuntime backend, long delayMs) {
        if (backend.removed()) {
            probes.remove(backend);
            return;
        }
        probes.put(backend, loop.schedule(() -> probe(pool, backend), delayMs, TimeUnit.MILLISECONDS));
    }

    private void probe(PoolRuntime pool, BackendRuntime backend) {
        HealthCheckConfig hc = pool.settings().healthCheck();
        if (backend.removed() || !probes.containsKey(backend)) {
            return;
        }
        if (!hc.enabled()) {
            schedule(pool, backend, hc.interval().toMillis());
            return;
        }
        if (faults.probeFails(pool.name(), backend.id())) {
            control.execute(() -> pool.onProbe(backend.id(), false, "fault injection"));
            schedule(pool, backend, hc.interval().toMillis());
            return;
        }
        long started = System.nanoTime();
        Exchange exchange = hc.expect() == null ? null : new Exchange(pool, backend, hc, started);
        Bootstrap b = new Bootstrap()
            .group(loop)
            .channel(transport.socketChannel())
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) hc.timeout().toMillis())
            .option(ChannelOption.SO_LINGER, 0)
            .handler(exchange == null ? NO_HANDLER : exchange);
        Tunnel t = hc.throughTunnel() ? tunnels.get(pool.name()) : null;
        java.net.SocketAddress target = backend.socketAddress();
        if (t != null) {
            int slot = t.steering().slot(backend.flowId());
            if (slot < 0) {
                control.execute(() -> pool.onProbe(backend.id(), false, "no tunnel probe slot left"));
                schedule(pool, backend, hc.interval().toMillis());
                return;
            }
            slotsHeld.put(backend, t.steering());
            b.option(ChannelOption.SO_REUSEADDR, true)
                .localAddress(new java.net.InetSocketAddress(ProbeSteering.BASE_PORT + slot));
            target = t.vip();
        }
        b.connect(target).addListener((ChannelFutureListener) f -> {
            if (exchange == null || !f.isSuccess()) {
                done(pool, backend, f, started);
            }   // else the exchange reports when the answer comes, or does not
        });
        schedule(pool, backend, hc.interval().toMillis());
    }

    /**
     * A probe with a request and an expected answer ({@code send}/{@code expect}): once connected it writes the
     * request and waits up to {@code timeout} for the answer to contain the expected text. Reports once; at most
     * {@link HealthCheckConfig#MAX_CHECK_BYTES} x 4 bytes of the answer are kept.
     */
    private final class Exchange extends ChannelInboundHandlerAdapter {
        private final PoolRuntime pool;
        private final BackendRuntime backend;
        private final HealthCheckConfig hc;
        private final long started;
        private final StringBuilder answer = new StringBuilder();
        private boolean reported;

        Exchange(PoolRuntime pool, BackendRuntime backend, HealthCheckConfig hc, long started) {
            this.pool = pool;
            this.backend = backend;
            this.hc = hc;
            this.started = started;
        }

        @Override
        public void channelActive(io.netty.channel.ChannelHandlerContext ctx) {
            if (hc.send() != null) {
                ctx.writeAndFlush(io.netty.buffer.Unpooled.copiedBuffer(hc.send(),
                    java.nio.charset.StandardCharsets.UTF_8));
            }
            ctx.executor().schedule(() -> report(ctx, false, "no answer in " + hc.timeout().toMillis() + " ms"),
                hc.timeout().toMillis(), TimeUnit.MILLISECONDS);
        }

        @Override
        public void channelRead(io.netty.channel.ChannelHandlerContext ctx, Object msg) {
            io.netty.buffer.ByteBuf in = (io.netty.buffer.ByteBuf) msg;
            try {
                if (answer.length() < 4 * HealthCheckConfig.MAX_CHECK_BYTES) {
                    answer.append(in.toString(java.nio.charset.StandardCharsets.UTF_8));
                }
            } finally {
                in.release();
            }
            if (answer.indexOf(hc.expect()) >= 0) {
                report(ctx, true, "answered");
            }
        }

        @Override
        public void channelInactive(io.netty.channel.ChannelHandlerContext ctx) {
            report(ctx, false, "closed before answering");
        }

        @Override
        public void exceptionCaught(io.netty.channel.ChannelHandlerContext ctx, Throwable cause) {
            report(ctx, false, cause.getClass().getSimpleName());
        }

        private void report(io.netty.channel.ChannelHandlerContext ctx, boolean ok, String detail) {
            if (reported) {
                return;
            }
            reported = true;
            ctx.close();
            if (ok) {
                backend.record(BackendRuntime.Latency.PROBE, System.nanoTime() - started);
            }
            control.execute(() -> pool.onProbe(backend.id(), ok, detail));
        }
    }

    private void done(PoolRuntime pool, BackendRuntime backend, ChannelFuture f, long started) {
        boolean ok = f.isSuccess();
        String detail = ok ? "connected" : f.cause() == null ? "failed" : f.cause().getClass().getSimpleName();
        if (ok) {
            backend.record(BackendRuntime.Latency.PROBE, System.nanoTime() - started);
            f.channel().close();
        }
        control.execute(() -> pool.onProbe(backend.id(), ok, detail));
    }

    @Override
    public void close() {
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @io.netty.channel.ChannelHandler.Sharable
    private static final class NoHandler extends ChannelInboundHandlerAdapter {
    }
}
