package io.l4mesh.node.cli;

import io.l4mesh.node.packet.VipAnnouncer;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code l4mesh announce}: the dead-man's switch between a packet-mode node and its BGP speaker. It polls the
 * node's {@code /healthz}; after {@code --fall} failures (a hung node, a crashed one, or one draining, which answers
 * 503) it removes the VIP routes that BIRD learns and announces, and puts them back when the node answers again.
 * A kill -9 needs no help (the TUN and its route die with the process); a SIGSTOPped node does. Each poll makes the
 * routes match the verdict, whoever added them ({@link VipAnnouncer}).
 */
@Command(name = "announce", mixinStandardHelpOptions = true,
    description = {"Keep the VIP routes (which BIRD announces) only while the node's /healthz answers 200.",
        "Withdraws a hung or draining node within --fall x --interval."})
public final class AnnounceCommand implements Callable<Integer> {
    @Option(names = "--admin", defaultValue = "127.0.0.1:9090", description = "The node's admin API.")
    String admin;

    @Option(names = "--vip", required = true, paramLabel = "VIP=DEVICE",
        description = "A VIP and the node's TUN device for it (repeatable), e.g. 198.18.100.1=l4mvip.")
    List<String> vips = new ArrayList<>();

    @Option(names = "--interval-ms", defaultValue = "200", description = "Poll interval (default 200 ms).")
    long intervalMs;

    @Option(names = "--fall", defaultValue = "3", description = "Failures before withdrawing (default 3).")
    int fall;

    @Override
    public Integer call() throws Exception {
        List<VipAnnouncer.Vip> list = new ArrayList<>();
        for (String v : vips) {
            String[] kv = v.split("=", 2);
            if (kv.length != 2 || kv[0].isEmpty() || kv[1].isEmpty()) {
                System.err.println("l4mesh announce: --vip wants VIP=DEVICE, got '" + v + "'");
                return L4meshCli.EXIT_USAGE;
            }
            list.add(new VipAnnouncer.Vip(kv[0], kv[1]));
        }
        if (fall < 1 || intervalMs < 10) {
            System.err.println("l4mesh announce: --fall is at least 1 and --interval-ms at least 10");
            return L4meshCli.EXIT_USAGE;
        }
        VipAnnouncer announcer = new VipAnnouncer(list, fall, VipAnnouncer.kernelRoutes());
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(intervalMs)).build();
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://" + admin + "/healthz"))
            .timeout(Duration.ofMillis(Math.max(100, intervalMs))).build();
        System.out.println("l4mesh announce: watching http://" + admin + "/healthz for " + vips);
        while (true) {
            boolean ok;
            try {
                ok = http.send(req, HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
            } catch (IOException e) {
                ok = false;
            }
            switch (announcer.poll(ok)) {
                case WITHDREW -> System.out.println("l4mesh announce: node not healthy, VIP routes withdrawn");
                case RESTORED -> System.out.println("l4mesh announce: node healthy, VIP routes in place");
                case NONE -> { }
            }
            TimeUnit.MILLISECONDS.sleep(intervalMs);
        }
    }
}
