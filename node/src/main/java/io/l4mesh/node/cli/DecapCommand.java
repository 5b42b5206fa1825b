package io.l4mesh.node.cli;

import io.l4mesh.node.config.HostPort;
import io.l4mesh.node.packet.Commands;
import io.l4mesh.node.packet.GueDecapsulator;
import io.l4mesh.node.packet.Tun;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import sun.misc.Signal;

/**
 * {@code l4mesh decap}: the backend side of packet mode for hosts without the kernel's fou module. Receives GUE
 * (UDP whose payload is the client's IP packet) and writes each packet into a TUN device, so the kernel delivers it
 * to the service listening on the VIP, which answers the client directly. Root (CAP_NET_ADMIN) and Linux only.
 */
@Command(name = "decap", mixinStandardHelpOptions = true,
    description = {"Backend side of packet mode (DSR) without the kernel's fou module: receive GUE and hand the inner",
        "packets to the kernel through a TUN device. Needs root. The VIPs must be on lo (--vip adds them), and",
        "reverse-path filtering off (net.ipv4.conf.{all,default,TUN}.rp_filter=0; this command sets the TUN's)."})
public final class DecapCommand implements Callable<Integer> {
    @Option(names = "--listen", defaultValue = "0.0.0.0:6080", description = "GUE address (default ${DEFAULT-VALUE}).")
    String listen;

    @Option(names = "--tun", defaultValue = "l4mdecap", description = "TUN device to create (default ${DEFAULT-VALUE}).")
    String tunName;

    @Option(names = "--vip", description = "A VIP to put on lo while running (repeatable).")
    List<String> vips = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        HostPort at = HostPort.parse(listen, false);
        if (at == null) {
            System.err.println("l4mesh decap: --listen '" + listen + "' is not host:port");
            return L4meshCli.EXIT_USAGE;
        }
        List<String> added = new ArrayList<>();
        try (Tun tun = openTun(tunName)) {
            Commands.ip("link", "set", tun.name(), "up");
            sysctl("net/ipv4/conf/" + tun.name() + "/rp_filter", "0");
            for (String v : vips) {
                Commands.ip("addr", "add", v + (v.contains(":") ? "/128" : "/32"), "dev", "lo");
                added.add(v);
            }
            for (String k : List.of("all", "default")) {
                String rp = Files.readString(Path.of("/proc/sys/net/ipv4/conf/" + k + "/rp_filter")).strip();
                if (!rp.equals("0")) {
                    System.err.println("l4mesh decap: warning: net.ipv4.conf." + k + ".rp_filter=" + rp
                        + " drops decapsulated packets; set it to 0");
                }
            }
            try (GueDecapsulator decap = new GueDecapsulator(at.resolve(), tun)) {
                Thread t = Thread.ofPlatform().name("l4mesh-decap").start(decap);
                System.out.println("l4mesh decap: GUE on " + decap.localAddress() + " -> " + tun.name()
                    + (vips.isEmpty() ? "" : ", VIPs on lo: " + vips) + (decap.gro() ? "" : " (no UDP GRO here)"));
                CountDownLatch stop = new CountDownLatch(1);
                Signal.handle(new Signal("TERM"), s -> stop.countDown());
                Signal.handle(new Signal("INT"), s -> stop.countDown());
                stop.await();
                decap.close();
                t.join(TimeUnit.SECONDS.toMillis(2));
                System.out.println("l4mesh decap: stopped after " + decap.decapsulated() + " packets ("
                    + decap.refused() + " refused, " + decap.merged() + " receives of merged runs, "
                    + decap.coalesced() + " of them written as one packet)");
            }
        } catch (IOException e) {
            System.err.println("l4mesh decap: " + e.getMessage());
            return L4meshCli.EXIT_FAILURE;
        } finally {
            for (String v : added) {
                try {
                    Commands.ip("addr", "del", v + (v.contains(":") ? "/128" : "/32"), "dev", "lo");
                } catch (IOException ignored) {
                    // Already gone.
                }
            }
        }
        return 0;
    }


    /**
     * The decapsulator's TUN device, with offloads where the kernel has them (runs of one flow's datagrams then go in
     * as one UDP super-packet each), else without.
     */
    private static Tun openTun(String name) throws IOException {
        try {
            return Tun.open(name, false, true);
        } catch (IOException e) {
            if (!e.getMessage().contains("TUNSETOFFLOAD")) {
                throw e;
            }
            System.err.println("l4mesh decap: no TUN offloads here (" + e.getMessage() + "); one write per packet");
            return Tun.open(name, false, false);
        }
    }

    private static void sysctl(String key, String value) throws IOException {
        Files.writeString(Path.of("/proc/sys", key), value);
    }
}
