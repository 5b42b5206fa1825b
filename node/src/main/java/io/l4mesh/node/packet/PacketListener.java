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
 * into it, and each thread forwards its queue's packets GUE-encapsulated to the backends. Two routes: a rule
 * ({@code to VIP lookup 61000}) takes the VIP's packets into the TUN, and the main table's {@code VIP dev TUN} is what
 * the BGP speaker learns and announces; withdrawing that one ({@link #withdraw}, or the announcer) moves the traffic
 * away without dropping what is still on its way. Closing the queues removes the device and, with it, both routes.
 * Linux with CAP_NET_ADMIN and CAP_NET_RAW only.
 *
 * <p>Each packet thread owns a share of the listener's flow table ({@code maxEntries / threads}). With flow sync
 * the route to the VIP (which is what the node announces) is added only once the node has pulled its peers' flows
 * ({@link #announce}), so it never receives a packet it cannot place.
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
    private final List<RawIpv6UdpSocket> sockets6 = new ArrayList<>();
    private final List<PacketForwarder> forwarders = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private final List<io.l4mesh.node.flow.FlowTable> tables = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final io.l4mesh.node.flow.FlowSync sync;
    private final boolean announceOnBind;
    private volatile io.l4mesh.node.flow.ListenerFlows flows;
    private InetSocketAddress vip;
    private ProbeSteering steering;
    private String dev;
    private volatile boolean announced;

    /**
     * @param sync           the node's flow sync, or null
     * @param announceOnBind route the VIP at once (else on {@link #announce})
     */
    public PacketListener(ListenerRuntime runtime, PacketConfig config, io.l4mesh.node.flow.FlowSync sync,
                          boolean announceOnBind) {
        this.runtime = runtime;
        this.config = config;
        this.sync = sync;
        this.announceOnBind = announceOnBind;
    }

    @Override
    public void bind() throws Exception {
        vip = runtime.config().bind().resolve();
        int n = config.queues() > 0 ? config.queues() : Runtime.getRuntime().availableProcessors();
        try {
            for (int i = 0; i < n; i++) {
                queues.add(openQueue(n > 1));
                sockets.add(RawIpv4Socket.open());
                sockets6.add(openIpv6());
            }
            dev = queues.get(0).name();
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
            tunRoute(true);
        } catch (Exception e) {
            stopAccepting();
            throw e;
        }
        io.l4mesh.node.config.FlowTableConfig ft = config.flowTable();
        int[] timeouts = ft.timeouts(runtime.config().protocol());
        long share = Math.max(1, ft.maxEntries() / n);
        if (sync != null) {
            flows = sync.register(runtime.name(), ft.maxEntries(), timeouts, n);
            runtime.replica(flows.replica());   // "where does this flow go": what the peers placed
        }
        // an active flow is re-announced to the peers every third of its timeout, so their copies never lapse
        int refresh = Math.max(1, Math.min(timeouts[io.l4mesh.node.flow.FlowTable.ESTABLISHED],
            timeouts[io.l4mesh.node.flow.FlowTable.CLOSING]) / 3);
        Encapsulator encap = encapsulator(runtime.pool().settings().encapsulation());
        steering = new ProbeSteering();
        for (int i = 0; i < n; i++) {
            // shared: the admin API reads it ("where does this flow go"); writes are rare (a new flow, a state change,
            // a new second in "last seen"), so the sequence lock costs the packet path little
            io.l4mesh.node.flow.FlowTable table = new io.l4mesh.node.flow.FlowTable(share, timeouts, true);
            tables.add(table);
            runtime.addFlowTable(table);
            PacketForwarder f = new PacketForwarder(queues.get(i), sockets.get(i), sockets6.get(i), runtime::pool,
                vip.getPort(),
                runtime.config().protocol().number(), encap, counters, config.fabricMtu(), table, flows, i, refresh,
                steering);
            forwarders.add(f);
            threads.add(Thread.ofPlatform().name("l4mesh-packet-" + runtime.name() + "-" + i).daemon().start(f));
        }
        if (announceOnBind) {
            try {
                announce();
            } catch (Exception e) {
                stopAccepting();
                throw e;
            }
        }
        Log.info(LOG, "packet.listening", "listener", runtime.name(), "vip", vip, "tun", dev,
            "queues", n, "offload", queues.get(0).offload(), "udp_offload", queues.get(0).udpOffload(), "encapsulation",
            runtime.pool().settings().encapsulation(), "fabric_mtu",
            config.fabricMtu(), "flow_table", ft.maxEntries(), "flow_sync", sync != null, "announced", announced);
    }

    /**
     * The next queue of the TUN device: with offloads when the config asks for them and the kernel takes them (the
     * first queue decides; the others must match it).
     */
    private Tun openQueue(boolean multiQueue) throws IOException {
        boolean offload = queues.isEmpty() ? config.offload() : queues.get(0).offload();
        if (offload && queues.isEmpty()) {
            try {
                return Tun.open(config.tun(), multiQueue, true);
            } catch (IOException e) {
                if (!String.valueOf(e.getMessage()).contains("TUNSETOFFLOAD")) {
                    throw e;
                }
                Log.warn(LOG, "packet.no_offload", "listener", runtime.name(), "detail", e.getMessage());
                offload = false;
            }
        }
        return Tun.open(config.tun(), multiQueue, offload);
    }

    /** Routes the VIP into the TUN device: from now on the node attracts (and its BGP speaker announces) it. */
    public void announce() throws Exception {
        if (announced || dev == null) {
            return;
        }
        String host = vip.getAddress().getHostAddress();
        int scope = host.indexOf('%');
        host = scope < 0 ? host : host.substring(0, scope);
        if (vip.getAddress() instanceof java.net.Inet6Address) {
            Commands.ip("-6", "route", "replace", host + "/128", "dev", dev);
        } else {
            Commands.ip("route", "replace", host + "/32", "dev", dev);
        }
        announced = true;
    }

    /**
     * Adds (or removes) the rule and route that take every packet for the VIP into the TUN, announced or not: the
     * main table's VIP route is only what the BGP speaker announces. So a withdrawal (the announcer's, or a drain's)
     * stops attracting traffic without dropping what is still on its way, and health probes reach the backends while
     * the VIP is withdrawn ({@link ProbeSteering}). Adding is idempotent: a rule left by a killed node is replaced.
     */
    private void tunRoute(boolean add) throws IOException {
        String fam = vip.getAddress() instanceof java.net.Inet6Address ? "-6" : "-4";
        String prefix = host() + (fam.equals("-6") ? "/128" : "/32");
        String[] rule = {fam, "rule", "del", "priority", Integer.toString(ProbeSteering.RULE_PRIORITY), "to", prefix,
            "lookup", Integer.toString(ProbeSteering.ROUTE_TABLE)};
        while (Commands.tryIp(rule)) {
            // an older copy of the rule went away
        }
        String table = Integer.toString(ProbeSteering.ROUTE_TABLE);
        if (add) {
            rule[2] = "add";
            Commands.ip(rule);
            Commands.ip(fam, "route", "replace", prefix, "dev", dev, "table", table);
            // Behind it, a blackhole: when the TUN goes with a killed process, the rule (left behind) drops what the
            // router still sends here until it moves the traffic, instead of the main table bouncing it back to the
            // router until its TTL runs out ("no route to host" at the client). A dropped SYN is sent again.
            Commands.ip(fam, "route", "replace", "blackhole", prefix, "table", table, "metric", BLACKHOLE_METRIC);
        } else {
            Commands.tryIp(fam, "route", "del", "blackhole", prefix, "table", table, "metric", BLACKHOLE_METRIC);
        }
    }

    /** The blackhole's metric in the TUN routes' table: above the TUN route's (0 for IPv4, 1024 for IPv6). */
    static final String BLACKHOLE_METRIC = "4000000000";

    /**
     * Removes the VIP's announced route (the BGP speaker withdraws it) while the TUN stays open and packets still on
     * their way are placed: the first step of a drain. Returns whether the VIP was announced.
     */
    public boolean withdraw() {
        if (!announced || dev == null) {
            return false;
        }
        String fam = vip.getAddress() instanceof java.net.Inet6Address ? "-6" : "-4";
        Commands.tryIp(fam, "route", "del", host() + (fam.equals("-6") ? "/128" : "/32"), "dev", dev);
        announced = false;
        return true;
    }

    private String host() {
        String host = vip.getAddress().getHostAddress();
        int scope = host.indexOf('%');
        return scope < 0 ? host : host.substring(0, scope);
    }

    /** Where health probes through the tunnel are steered (after {@link #bind}). */
    public ProbeSteering steering() {
        return steering;
    }

    /** Whether the VIP is routed here now (so announced by the node's BGP speaker). */
    public boolean announced() {
        return announced;
    }

    /** The flows this node carries for the VIP: its packet threads' flow-table entries. */
    @Override
    public long activeFlows() {
        return flowEntries();
    }

    /** Flow-table totals over the packet threads' tables (read from another thread: recent, not exact). */
    public long flowEntries() {
        long n = 0;
        for (io.l4mesh.node.flow.FlowTable t : List.copyOf(tables)) {
            n += t.size();
        }
        return n;
    }

    /** Evictions by reason ({@code expired}, {@code pressure}) over the packet threads' tables. */
    public long flowEvictions(String reason) {
        long n = 0;
        for (io.l4mesh.node.flow.FlowTable t : List.copyOf(tables)) {
            n += reason.equals("expired") ? t.evictedExpired() : t.evictedPressure();
        }
        return n;
    }

    /** This listener's part of flow sync, or null. */
    public io.l4mesh.node.flow.ListenerFlows flows() {
        return flows;
    }

    public long flowCapacity() {
        return config.flowTable().maxEntries();
    }

    /** A raw IPv6 socket for IPv6 backends, or null (logged once) where the host has no IPv6. */
    private RawIpv6UdpSocket openIpv6() {
        try {
            return RawIpv6UdpSocket.open();
        } catch (IOException e) {
            if (sockets6.isEmpty()) {
                Log.warn(LOG, "packet.no_ipv6", "listener", runtime.name(), "detail", e.getMessage());
            }
            return null;
        }
    }

    /** The pool's encapsulation, built once per bind. */
    static Encapsulator encapsulator(io.l4mesh.node.config.EncapsulationConfig c) {
        return c.type() == io.l4mesh.node.config.EncapsulationConfig.Type.VXLAN
            ? new VxlanEncapsulator(c.port(), c.vni(), io.l4mesh.node.config.EncapsulationConfig.parseMac(c.innerMac()))
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
        sockets6.forEach(x -> {
            if (x != null) {
                x.close();
            }
        });
        sockets6.clear();
        announced = false;
        if (vip != null && dev != null) {
            try {
                tunRoute(false);
            } catch (IOException e) {
                Log.warn(LOG, "packet.probe_route_left", "listener", runtime.name(), "detail", e.getMessage());
            }
        }
        if (flows != null) {
            runtime.replica(null);
            sync.retire(flows);
            flows = null;
        }
        List<io.l4mesh.node.flow.FlowTable> closing = List.copyOf(tables);
        tables.clear();
        closing.forEach(runtime::removeFlowTable);
        closing.forEach(io.l4mesh.node.flow.FlowTable::close);
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
