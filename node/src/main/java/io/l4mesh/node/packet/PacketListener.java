package io.l4mesh.node.packet;

import io.l4mesh.node.config.PacketConfig;
import io.l4mesh.node.log.Log;
import io.l4mesh.node.proxy.ListenerRuntime;
import io.l4mesh.node.proxy.ProxyListener;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;

/**
 * A listener in packet mode (DSR): the node creates the TUN device (one queue per packet thread), routes the VIP
 * into it, and each thread forwards its queue's packets GUE-encapsulated to the backends. Closing the queues
 * removes the device and, with it, the route. Linux with CAP_NET_ADMIN and CAP_NET_RAW only.
 *
 * <p>Threading: lifecycle on the control thread; one packet thread per queue.
 */
public final class PacketListener implements ProxyListener {
    /** The TUN queue length: the kernel's 500 dropped 1-4% of packets at 100k pps here. */
    static final int TX_QUEUE_LEN = 10_000;
    private static final Logger LOG = Log.logger(PacketListener.class);

    private final ListenerRuntime runtime;
    private final PacketConfig config;
    private final PacketCounters counters = new PacketCounters();
    private final List<Tun> queues = new ArrayList<>();
    private final List<RawIpv4Socket> sockets = new ArrayList<>();
    private final List<PacketForwarder> forwarders = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private InetSocketAddress vip;

    public PacketListener(ListenerRuntime runtime, PacketConfig config) {
        this.runtime = runtime;
        this.config = config;
        runtime.packets(counters);
    }

    @Override
    public void bind() throws Exception {
        vip = runtime.config().bind().resolve();
        int n = config.queues() > 0 ? config.queues() : Runtime.getRuntime().availableProcessors();
        try {
            for (int i = 0; i < n; i++) {
                queues.add(Tun.open(config.tun(), n > 1));
                sockets.add(RawIpv4Socket.open());
            }
            String dev = queues.get(0).name();
            boolean v6 = vip.getAddress() instanceof java.net.Inet6Address;
            Path v6off = Path.of("/proc/sys/net/ipv6/conf", dev, "disable_ipv6");
            if (Files.exists(v6off)) {
                Files.writeString(v6off, v6 ? "0" : "1");   // IPv6 only where the VIP needs it: no autoconf chatter
            }
            // The VIP's packets arrive for an address that is not local: the kernel must forward them into the TUN.
            Path forwarding = Path.of(v6 ? "/proc/sys/net/ipv6/conf/all/forwarding" : "/proc/sys/net/ipv4/ip_forward");
            if (Files.exists(forwarding) && !Files.readString(forwarding).strip().equals("1")) {
                Files.writeString(forwarding, "1");
                Log.info(LOG, "packet.forwarding_enabled", "listener", runtime.name(), "family", v6 ? "ipv6" : "ipv4");
            }
            Commands.ip("link", "set", dev, "txqueuelen", Integer.toString(TX_QUEUE_LEN), "up");
            String host = vip.getAddress().getHostAddress();
            int scope = host.indexOf('%');
            host = scope < 0 ? host : host.substring(0, scope);
            if (v6) {
                Commands.ip("-6", "route", "replace", host + "/128", "dev", dev);
            } else {
                Commands.ip("route", "replace", host + "/32", "dev", dev);
            }
        } catch (Exception e) {
            stopAccepting();
            throw e;
        }
        Encapsulator encap = encapsulator(runtime.pool().settings().encapsulation());
        for (int i = 0; i < n; i++) {
            PacketForwarder f = new PacketForwarder(queues.get(i), sockets.get(i), runtime::pool, vip.getPort(),
                runtime.config().protocol().number(), encap, counters, config.fabricMtu());
            forwarders.add(f);
            threads.add(Thread.ofPlatform().name("l4mesh-packet-" + runtime.name() + "-" + i).daemon().start(f));
        }
        Log.info(LOG, "packet.listening", "listener", runtime.name(), "vip", vip, "tun", queues.get(0).name(),
            "queues", n, "encapsulation", runtime.pool().settings().encapsulation(), "fabric_mtu",
            config.fabricMtu());
    }

    /** The pool's encapsulation, built once per bind. */
    static Encapsulator encapsulator(io.l4mesh.node.config.EncapsulationConfig c) {
        return c.type() == io.l4mesh.node.config.EncapsulationConfig.Type.VXLAN
            ? new VxlanEncapsulator(c.port(), c.vni(), VxlanEncapsulator.parseMac(c.innerMac()))
            : new GueEncapsulator(c.port());
    }


    @Override
    public void stopAccepting() {
        forwarders.forEach(PacketForwarder::stop);
        for (Thread t : threads) {
            try {
                t.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        queues.forEach(Tun::close);
        sockets.forEach(RawIpv4Socket::close);
        forwarders.clear();
        threads.clear();
        queues.clear();
        sockets.clear();
    }

    @Override
    public InetSocketAddress boundAddress() {
        return vip;
    }

    @Override
    public ListenerRuntime runtime() {
        return runtime;
    }

    public PacketCounters counters() {
        return counters;
    }
}
