package io.l4mesh.chaos.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.l4mesh.node.cli.L4meshCli;
import io.l4mesh.node.cli.Table;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code l4mesh bench ...}: benchmarks that print figures, each against a peer or a limit measured in the same run. */
@Command(name = "l4mesh bench", mixinStandardHelpOptions = true,
    description = "Benchmarks that print figures. 'bench maglev' (JMH) is run by the ./l4mesh launcher.",
    subcommands = {BenchCommand.Proxy.class, BenchCommand.Packet.class, BenchCommand.Flows.class,
        BenchCommand.Sync.class})
public final class BenchCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    /** The launcher hands {@code l4mesh bench ...} here (the product's CLI does not carry it). */
    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line (also used by tests). */
    public static picocli.CommandLine commandLine() {
        picocli.CommandLine cl = new picocli.CommandLine(new BenchCommand());
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            cmd.getErr().println("l4mesh bench: " + (ex.getMessage() == null ? ex.toString() : ex.getMessage()));
            return L4meshCli.EXIT_FAILURE;
        });
        return cl;
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "flowtable", mixinStandardHelpOptions = true,
        description = {"The flow table on one thread: inserts/s, lookups/s (hits, misses), bytes per flow and bytes",
            "allocated per operation, at each size; a java.util.HashMap of flow records at the first size for scale."})
    static final class Flows implements Callable<Integer> {
        @Option(names = "--flows", split = ",", defaultValue = "1000000,10000000",
            description = "Table sizes (default 1000000,10000000).")
        List<Long> flows;

        @Option(names = "--json", description = "Print one JSON document.")
        boolean json;

        @Override
        public Integer call() {
            if (flows.stream().anyMatch(f -> f < 1000 || f > 100_000_000)) {
                System.err.println("l4mesh bench flowtable: sizes are 1000 to 100000000");
                return L4meshCli.EXIT_USAGE;
            }
            io.l4mesh.node.log.Log.setup(java.util.logging.Level.WARNING);
            List<io.l4mesh.chaos.bench.FlowTableBench.Result> rs = new ArrayList<>();
            for (long f : flows) {
                rs.add(io.l4mesh.chaos.bench.FlowTableBench.flowTable(f));
            }
            rs.add(io.l4mesh.chaos.bench.FlowTableBench.hashMap((int) Math.min(flows.get(0), 5_000_000)));
            if (json) {
                ObjectMapper m = new ObjectMapper();
                com.fasterxml.jackson.databind.node.ArrayNode arr = m.createArrayNode();
                for (var r : rs) {
                    ObjectNode n = arr.addObject();
                    n.put("table", r.table());
                    n.put("flows", r.flows());
                    n.put("insertsPerSecond", Math.round(r.insertsPerSecond()));
                    n.put("hitsPerSecond", Math.round(r.hitsPerSecond()));
                    n.put("missesPerSecond", Math.round(r.missesPerSecond()));
                    n.put("bytesPerFlow", Math.round(r.bytesPerFlow() * 10) / 10.0);
                    n.put("allocatedBytesPerOp", Math.round(r.allocatedBytesPerOp() * 100) / 100.0);
                    n.put("processRssBytes", r.rssBytes());
                }
                try {
                    System.out.println(m.writerWithDefaultPrettyPrinter().writeValueAsString(arr));
                } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                    throw new IllegalStateException(e);
                }
                return 0;
            }
            Table t = new Table("TABLE", "FLOWS", "INSERTS/s", "HITS/s", "MISSES/s", "BYTES/flow", "ALLOC B/op",
                "PROCESS RSS MiB");
            for (var r : rs) {
                t.row(r.table(), Long.toString(r.flows()), String.format("%.2fM", r.insertsPerSecond() / 1e6),
                    String.format("%.2fM", r.hitsPerSecond() / 1e6), String.format("%.2fM", r.missesPerSecond() / 1e6),
                    String.format("%.1f", r.bytesPerFlow()), String.format("%.2f", r.allocatedBytesPerOp()),
                    r.rssBytes() < 0 ? "-" : Long.toString(r.rssBytes() >> 20));
            }
            java.io.PrintWriter out = new java.io.PrintWriter(System.out, true);
            t.print(out, "");
            out.println("(one thread; random IPv4 clients; l4mesh's table is off-heap, the HashMap's bytes are heap"
                + " after a full GC; process RSS: this whole JVM with the table just filled)");
            return 0;
        }
    }

    @Command(name = "sync", mixinStandardHelpOptions = true,
        description = {"Flow sync on loopback: new flows/s one node replicates to two peers, and replication lag",
            "p50/p99 (three sync endpoints in this process)."})
    static final class Sync implements Callable<Integer> {
        @Option(names = "--seconds", defaultValue = "5", description = "How long to offer flows (default 5).")
        int seconds;

        @Option(names = "--max-flows", defaultValue = "3000000", description = "Stop after this many (default 3000000).")
        long maxFlows;

        @Option(names = "--rate", defaultValue = "200000000",
            description = "maxBytesPerSecond per peer (default 200000000).")
        long rate;

        @Option(names = "--paced", defaultValue = "100000",
            description = "New flows/s for the lag measurement (default 100000).")
        long paceRate;

        @Option(names = "--json", description = "Print one JSON document.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            if (seconds < 1 || seconds > 60 || maxFlows < 1000 || maxFlows > 20_000_000 || rate < 10_000
                || paceRate < 1 || paceRate > 10_000_000) {
                System.err.println("l4mesh bench sync: need 1 <= --seconds <= 60, 1000 <= --max-flows <= 20000000, "
                    + "--rate >= 10000");
                return L4meshCli.EXIT_USAGE;
            }
            io.l4mesh.node.log.Log.setup(java.util.logging.Level.WARNING);
            io.l4mesh.chaos.bench.SyncBench.Result full = io.l4mesh.chaos.bench.SyncBench.run(seconds, rate, maxFlows, 0);
            io.l4mesh.chaos.bench.SyncBench.Result paced = io.l4mesh.chaos.bench.SyncBench.run(seconds, rate,
                Math.min(maxFlows, paceRate * seconds), paceRate);
            if (json) {
                ObjectMapper m = new ObjectMapper();
                ObjectNode root = m.createObjectNode();
                root.set("unpaced", m.valueToTree(full));
                root.set("paced", m.valueToTree(paced));
                root.put("pacedFlowsPerSecond", paceRate);
                System.out.println(m.writerWithDefaultPrettyPrinter().writeValueAsString(root));
                return 0;
            }
            for (var r : List.of(full, paced)) {
                System.out.printf("""
                    %s: offered %d new flows; peer b applied %d, peer c applied %d in %.2f s (%.0f flows/s to 2 peers)
                      replication lag (creation to insertion on a peer): p50 %.1f ms, p99 %.1f ms (ms resolution)
                      retransmissions %d, lost %d, outbox full %d
                    """, r == full ? "as fast as it goes" : "paced at " + paceRate + " flows/s", r.offered(),
                    r.appliedB(), r.appliedC(), r.seconds(), r.appliedPerSecond(), r.p50Micros() / 1000.0,
                    r.p99Micros() / 1000.0, r.retransmits(), r.lost(), r.outboxFull());
            }
            return 0;
        }
    }

    @Command(name = "packet", mixinStandardHelpOptions = true,
        description = {"Packets/s delivered to a backend through one l4mesh node in packet mode versus plain kernel",
            "forwarding through the same router, on the lab topology (root, Linux, bird2), with small UDP packets."})
    static final class Packet implements Callable<Integer> {
        @Option(names = "--seconds", defaultValue = "10", description = "Length of each measurement (default 10).")
        int seconds;

        @Option(names = "--payload", defaultValue = "18", description = "UDP payload bytes (default 18: 64-byte frames).")
        int payload;

        @Option(names = "--dir", defaultValue = "/tmp/l4mesh-bench-lab", description = "The lab's directory.")
        java.nio.file.Path dir;

        @Option(names = "--rounds", defaultValue = "3", description = "Rounds of both paths in turn (default 3).")
        int rounds;

        @Option(names = "--json", description = "Print one JSON document.")
        boolean json;

        @picocli.CommandLine.Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            java.io.PrintWriter out = spec.commandLine().getOut();
            if (seconds < 1 || seconds > 120 || payload < 1 || payload > 1400 || rounds < 1 || rounds > 20) {
                spec.commandLine().getErr().println("l4mesh bench packet: need 1 <= --seconds <= 120, "
                    + "1 <= --payload <= 1400 and 1 <= --rounds <= 20");
                return L4meshCli.EXIT_USAGE;
            }
            Map<String, String> machine = Machine.describe(List.of("bird"));
            Map<String, List<PacketBench.Result>> rs = new PacketBench(seconds, payload, dir).run(rounds);
            Map<String, Spread> pps = new java.util.LinkedHashMap<>();
            Map<String, Spread> cpu = new java.util.LinkedHashMap<>();
            Map<String, Spread> bulk = new java.util.LinkedHashMap<>();
            Map<String, Spread> offloaded = new java.util.LinkedHashMap<>();
            Map<String, Spread> gso = new java.util.LinkedHashMap<>();
            Map<String, Spread> mergedPps = new java.util.LinkedHashMap<>();
            Map<String, Spread> mergedCpu = new java.util.LinkedHashMap<>();
            Map<String, Spread> mergedSuper = new java.util.LinkedHashMap<>();
            rs.forEach((path, list) -> {
                mergedPps.put(path, Spread.of(list.stream().map(r -> r.merged().deliveredPps()).toList()));
                mergedCpu.put(path, Spread.of(list.stream().map(r -> r.merged().cpuNanosPerPacket()).toList()));
                mergedSuper.put(path, Spread.of(list.stream().map(r -> r.merged().share()).toList()));
                gso.put(path, Spread.of(list.stream().map(PacketBench.Result::udpGsoShare).toList()));
                offloaded.put(path, Spread.of(list.stream().map(PacketBench.Result::bulkOffloadedShare).toList()));
                bulk.put(path, Spread.of(list.stream().map(PacketBench.Result::bulkGbitPerSecond).toList()));
                pps.put(path, Spread.of(list.stream().map(PacketBench.Result::deliveredPps).toList()));
                cpu.put(path, Spread.of(list.stream().map(PacketBench.Result::cpuNanosPerPacket).toList()));
            });
            double ratio = pps.get("kernel").median() > 0 ? pps.get("l4mesh").median() / pps.get("kernel").median() : 0;
            double bulkRatio = bulk.get("kernel").median() > 0
                ? bulk.get("l4mesh").median() / bulk.get("kernel").median() : 0;
            double mergedRatio = mergedPps.get("kernel").median() > 0
                ? mergedPps.get("l4mesh").median() / mergedPps.get("kernel").median() : 0;
            if (json) {
                ObjectMapper m = new ObjectMapper();
                ObjectNode root = m.createObjectNode();
                root.put("seconds", seconds);
                root.put("rounds", rounds);
                root.put("payloadBytes", payload);
                ObjectNode mach = root.putObject("machine");
                machine.forEach(mach::put);
                rs.forEach((path, list) -> {
                    ObjectNode n = root.putObject(path);
                    n.put("sent", list.stream().mapToLong(PacketBench.Result::sent).sum());
                    n.put("delivered", list.stream().mapToLong(PacketBench.Result::delivered).sum());
                    pps.get(path).writeTo(n.putObject("deliveredPps"));
                    if (!Double.isNaN(cpu.get(path).median())) {
                        cpu.get(path).writeTo(n.putObject("cpuNanosPerPacket"));
                    }
                    if (!Double.isNaN(gso.get(path).median())) {
                        gso.get(path).writeTo(n.putObject("udpGsoShare"));
                    }
                    bulk.get(path).writeTo(n.putObject("bulkTcpGbitPerSecond"));
                    if (!Double.isNaN(offloaded.get(path).median())) {
                        offloaded.get(path).writeTo(n.putObject("bulkTcpOffloadedShare"));
                    }
                    ObjectNode merged = n.putObject("merged");
                    merged.put("sent", list.stream().mapToLong(r -> r.merged().sent()).sum());
                    merged.put("delivered", list.stream().mapToLong(r -> r.merged().delivered()).sum());
                    mergedPps.get(path).writeTo(merged.putObject("deliveredPps"));
                    if (!Double.isNaN(mergedCpu.get(path).median())) {
                        mergedCpu.get(path).writeTo(merged.putObject("cpuNanosPerPacket"));
                        mergedSuper.get(path).writeTo(merged.putObject("superPacketShare"));
                    }
                });
                root.put("l4meshToKernel", Spread.ratio(ratio));
                root.put("bulkTcpL4meshToKernel", Spread.ratio(bulkRatio));
                root.put("mergedL4meshToKernel", Spread.ratio(mergedRatio));
                out.println(m.writerWithDefaultPrettyPrinter().writeValueAsString(root));
                out.flush();
                return 0;
            }
            header(out, machine, rounds, seconds + " s per measurement, " + payload + "-byte payloads");
            Table t = new Table("PATH", "SENT", "DELIVERED", "DELIVERED pps", "node CPU ns/packet", "UDP GSO",
                "BULK TCP Gbit/s", "BULK OFFLOADED");
            rs.forEach((path, list) -> t.row(path,
                Long.toString(list.stream().mapToLong(PacketBench.Result::sent).sum()),
                Long.toString(list.stream().mapToLong(PacketBench.Result::delivered).sum()),
                pps.get(path).format("%.0f"), cpu.get(path).format("%.0f"), gso.get(path).format("%.2f"),
                bulk.get(path).format("%.2f"),
                offloaded.get(path).format("%.2f")));
            t.print(out, "");
            out.printf("%nThe same small packets sent in runs of %d (UDP segmentation), reaching the node merged:%n%n",
                PacketBench.RUN);
            Table m = new Table("PATH", "SENT", "DELIVERED", "DELIVERED pps", "node CPU ns/packet", "READ MERGED");
            rs.forEach((path, list) -> m.row(path,
                Long.toString(list.stream().mapToLong(r -> r.merged().sent()).sum()),
                Long.toString(list.stream().mapToLong(r -> r.merged().delivered()).sum()),
                mergedPps.get(path).format("%.0f"), mergedCpu.get(path).format("%.0f"),
                mergedSuper.get(path).format("%.2f")));
            m.print(out, "");
            out.printf("%nl4mesh / kernel forwarding (medians): small UDP packets %.2f, bulk TCP %.2f, small UDP "
                + "packets arriving merged %.2f%n", ratio, bulkRatio, mergedRatio);
            out.flush();
            return 0;
        }
    }

    @Command(name = "proxy", mixinStandardHelpOptions = true,
        description = {"Measure l4mesh, HAProxy (mode tcp) and nginx (stream) in front of the same backends on loopback:",
            "bulk throughput (iperf3), short connections/s (wrk, Connection: close), keep-alive requests/s and p99;",
            "the systems take turns in rounds and each figure is the median of the rounds, with their spread."})
    static final class Proxy implements Callable<Integer> {
        @picocli.CommandLine.Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Option(names = "--seconds", defaultValue = "10", description = "Length of each measurement (default 10).")
        int seconds;

        @Option(names = "--rounds", defaultValue = "3", description = "Rounds of every system in turn (default 3).")
        int rounds;

        @Option(names = "--connections", defaultValue = "50", description = "wrk connections (default 50).")
        int connections;

        @Option(names = "--only", split = ",", description = {"Systems to run: direct, l4mesh, haproxy, nginx (the "
            + "default), and l4mesh-io_uring (l4mesh on Netty's io_uring transport instead of epoll)."})
        List<String> only;

        @Option(names = "--json", description = "Print one JSON document with each system's figures and ratios.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            java.io.PrintWriter out = spec.commandLine().getOut();
            java.io.PrintWriter err = spec.commandLine().getErr();
            if (seconds < 1 || seconds > 300 || connections < 1 || connections > 10_000 || rounds < 1 || rounds > 20) {
                err.println("l4mesh bench: need 1 <= --seconds <= 300, 1 <= --rounds <= 20 and "
                    + "1 <= --connections <= 10000");
                return L4meshCli.EXIT_USAGE;
            }
            List<String> systems = only != null ? only : List.of("direct", "l4mesh", "haproxy", "nginx");
            for (String s : systems) {
                if (!ProxyBench.SYSTEMS.contains(s)) {
                    err.println("l4mesh bench: unknown system '" + s + "' (" + String.join(", ", ProxyBench.SYSTEMS)
                        + ")");
                    return L4meshCli.EXIT_USAGE;
                }
            }
            boolean peers = systems.contains("haproxy") || systems.contains("nginx");
            List<String> missing = ProxyBench.missing(peers);
            if (!missing.isEmpty()) {
                err.println("l4mesh bench: missing " + String.join(", ", missing));
                err.println("l4mesh bench: on Debian/Ubuntu: sudo apt-get install haproxy nginx-light "
                    + "libnginx-mod-stream iperf3 wrk");
                return L4meshCli.EXIT_FAILURE;
            }
            Map<String, String> machine = Machine.describe(List.of("haproxy", "nginx", "iperf3", "wrk"));
            List<ProxyBench.Summary> results;
            try (ProxyBench bench = new ProxyBench(seconds, connections, err)) {
                results = ProxyBench.summarise(bench.run(systems, rounds));
            }
            Map<String, Double> ratios = ProxyBench.ratios(results);
            if (json) {
                ObjectMapper m = new ObjectMapper();
                ObjectNode root = m.createObjectNode();
                root.put("seconds", seconds);
                root.put("rounds", rounds);
                root.put("connections", connections);
                ObjectNode mach = root.putObject("machine");
                machine.forEach(mach::put);
                ObjectNode sys = root.putObject("systems");
                for (ProxyBench.Summary r : results) {
                    ObjectNode n = sys.putObject(r.system());
                    r.gbitPerSecond().writeTo(n.putObject("gbitPerSecond"));
                    r.connectionsPerSecond().writeTo(n.putObject("connectionsPerSecond"));
                    r.requestsPerSecond().writeTo(n.putObject("requestsPerSecond"));
                    r.p99Millis().writeTo(n.putObject("p99Millis"));
                }
                ObjectNode rat = root.putObject("l4meshToBestPeer");
                ratios.forEach((k, v) -> rat.put(k, Spread.ratio(v)));
                out.println(m.writerWithDefaultPrettyPrinter().writeValueAsString(root));
                out.flush();
                return 0;
            }
            header(out, machine, rounds, seconds + " s per measurement");
            Table t = new Table("SYSTEM", "BULK Gbit/s", "SHORT conn/s", "KEEP-ALIVE req/s", "p99 ms");
            for (ProxyBench.Summary r : results) {
                t.row(r.system(), r.gbitPerSecond().format("%.2f"), r.connectionsPerSecond().format("%.0f"),
                    r.requestsPerSecond().format("%.0f"), r.p99Millis().format("%.2f"));
            }
            t.print(out, "");
            if (!ratios.isEmpty()) {
                out.printf("%nl4mesh / best peer (medians): throughput %.2f, conn/s %.2f, req/s %.2f, p99 %.2f "
                    + "(above 1 is better)%n", ratios.get("throughput"), ratios.get("connectionsPerSecond"),
                    ratios.get("requestsPerSecond"), ratios.get("p99Latency"));
            }
            out.flush();
            return 0;
        }

    }

    /** The lines above each round-based table: the machine, and what a figure is. */
    static void header(java.io.PrintWriter out, Map<String, String> machine, int rounds, String measurement) {
        out.println("machine: " + Machine.line(machine));
        out.printf("each figure: median of %d rounds (lowest-highest round), %s%n%n", rounds, measurement);
    }
}
