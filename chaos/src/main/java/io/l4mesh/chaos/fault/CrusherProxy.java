package io.l4mesh.chaos.fault;

import io.l4mesh.node.packet.NetNamespace;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.concurrent.Callable;
import org.netcrusher.core.reactor.NioReactor;
import org.netcrusher.core.throttle.Throttler;
import org.netcrusher.tcp.TcpCrusher;
import org.netcrusher.tcp.TcpCrusherBuilder;

/**
 * An in-path TCP proxy on netcrusher, run inside the suite's JVM (in a backend's network namespace in the lab: the
 * reactor thread is started from a thread that entered it, and threads keep the namespace they were born in).
 * Latency comes from a throttler whose delay can change while connections run; freeze and down are netcrusher's.
 *
 * <pre>{@code
 * CrusherProxy p = CrusherProxy.open(null, bind, service, () -> {});
 * p.slow(100); p.freeze(); p.unfreeze(); p.close();
 * }</pre>
 */
public final class CrusherProxy implements InPathProxy {
    /** Buffers per direction per connection, and their size: enough for the suite's lines delayed 100 ms. */
    static final int BUFFERS = 8;
    static final int BUFFER_BYTES = 8192;
    private final NetNamespace.Pinned ns;
    private final NioReactor reactor;
    private final TcpCrusher crusher;
    private final Delay delay = new Delay();
    private final AutoCloseable restore;

    /** A delay per chunk that the scenario changes while connections run. */
    static final class Delay implements Throttler {
        volatile long nanos;

        @Override
        public long calculateDelayNs(ByteBuffer bb) {
            long n = nanos;
            return n == 0 ? Throttler.NO_DELAY_NS : n;
        }
    }

    private CrusherProxy(NetNamespace.Pinned ns, InetSocketAddress bind, InetSocketAddress service,
                         AutoCloseable restore) throws Exception {
        this.ns = ns;
        this.restore = restore;
        this.reactor = in(NioReactor::new);
        this.crusher = in(() -> TcpCrusherBuilder.builder().withReactor(reactor).withBindAddress(bind)
            .withConnectAddress(service).withIncomingThrottlerFactory(a -> delay)
            .withOutgoingThrottlerFactory(a -> delay).withConnectionTimeoutMs(5000).withBacklog(256)
            // the connect timeout outlasts one resent SYN (1 s) toward a busy backend;
            // netcrusher's default is 64 direct buffers of 32 KiB each way per connection (4 MiB): allocating that
            // for each of dozens of connections opened at once held its accept loop for seconds
            .withBufferCount(BUFFERS).withBufferSize(BUFFER_BYTES).withBufferDirect(false).buildAndOpen());
    }

    /**
     * Opens the proxy on {@code bind}, forwarding to {@code service}; {@code restore} runs when it closes (it puts
     * the backend's service back on {@code bind}).
     *
     * @param ns the namespace to run in, or null for this one
     */
    public static CrusherProxy open(NetNamespace.Pinned ns, InetSocketAddress bind, InetSocketAddress service,
                                    AutoCloseable restore) throws Exception {
        return new CrusherProxy(ns, bind, service, restore);
    }

    private <T> T in(Callable<T> task) throws Exception {
        return ns == null ? task.call() : ns.call(task);
    }

    @Override
    public void slow(long ms) {
        delay.nanos = ms * 1_000_000L;
    }

    @Override
    public void freeze() throws Exception {
        in(() -> {
            crusher.freeze();
            return null;
        });
    }

    @Override
    public void unfreeze() throws Exception {
        in(() -> {
            crusher.unfreeze();
            return null;
        });
    }

    @Override
    public void down() throws Exception {
        in(() -> {
            crusher.close();
            return null;
        });
    }

    @Override
    public void up() throws Exception {
        in(() -> {
            crusher.open();
            return null;
        });
    }

    /** Connections the proxy carries now. */
    public int connections() {
        return crusher.getClientAddresses().size();
    }

    @Override
    public String driver() {
        return "netcrusher";
    }

    @Override
    public void close() throws Exception {
        try {
            in(() -> {
                if (crusher.isOpen()) {
                    crusher.close();
                }
                reactor.close();
                return null;
            });
        } finally {
            restore.close();
        }
    }
}
