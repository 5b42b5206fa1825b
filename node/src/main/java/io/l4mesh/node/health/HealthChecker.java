package io.l4mesh.node.health;

import io.l4mesh.node.config.HealthCheckConfig;
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
 * result to the control thread ({@link PoolRuntime#onProbe}), which applies rise/fall.
 *
 * <p>Threading: {@link #watch} and {@link #unwatch} may be called from any thread; the probe schedule is owned by
 * the checker's single event loop.
 */
public final class HealthChecker implements AutoCloseable {
    private static final ChannelInboundHandlerAdapter NO_HANDLER = new NoHandler();

    /** Fault seam: probes of these {@code pool/backend} keys fail (tests and the chaos suite only). */
    private volatile java.util.Set<String> forcedDown = java.util.Set.of();
    private final EventLoopGroup loop;
    private final Transport transport;
    private final Executor control;
    /** Owned by the checker's event loop. */
    private final Map<BackendRuntime, ScheduledFuture<?>> probes = new HashMap<>();

    public HealthChecker(Transport transport, Executor control) {
        this.transport = transport;
        this.control = control;
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
        if (forcedDown.contains(pool.name() + "/" + backend.id())) {
            control.execute(() -> pool.onProbe(backend.id(), false, "fault injection"));
            schedule(pool, backend, hc.interval().toMillis());
            return;
        }
        new Bootstrap()
            .group(loop)
            .channel(transport.socketChannel())
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) hc.timeout().toMillis())
            .option(ChannelOption.SO_LINGER, 0)
            .handler(NO_HANDLER)
            .connect(backend.socketAddress())
            .addListener((ChannelFutureListener) f -> done(pool, backend, f));
        schedule(pool, backend, hc.interval().toMillis());
    }

    private void done(PoolRuntime pool, BackendRuntime backend, ChannelFuture f) {
        boolean ok = f.isSuccess();
        String detail = ok ? "connected" : f.cause() == null ? "failed" : f.cause().getClass().getSimpleName();
        if (ok) {
            f.channel().close();
        }
        control.execute(() -> pool.onProbe(backend.id(), ok, detail));
    }

    /** Makes probes of these {@code pool/backend} keys fail, as if this node could not reach them. */
    public void forceDown(java.util.Set<String> keys) {
        forcedDown = java.util.Set.copyOf(keys);
    }

    public java.util.Set<String> forcedDown() {
        return forcedDown;
    }

    @Override
    public void close() {
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @io.netty.channel.ChannelHandler.Sharable
    private static final class NoHandler extends ChannelInboundHandlerAdapter {
    }
}
