package io.l4mesh.chaos.bench;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs l4mesh, HAProxy ({@code mode tcp}) and nginx ({@code stream}) in front of one iperf3 server and one nginx
 * HTTP server on loopback and measures, for each in turn: bulk throughput (iperf3), short connections per second
 * (wrk with {@code Connection: close}) and keep-alive requests per second with p99 latency (wrk). A direct run
 * against the backends gives the ceiling.
 */
public final class ProxyBench implements AutoCloseable {
    /** Debian packages that provide each tool. */
    static final Map<String, String> PACKAGES = Map.of("haproxy", "haproxy", "nginx", "nginx-light libnginx-mod-stream",
        "iperf3", "iperf3", "wrk", "wrk");
    static final String NGINX_STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so";

    /** One system's figures. */
    public record Result(String system, double gbitPerSecond, double connectionsPerSecond, double requestsPerSecond,
                         double p99Millis) {
    }

    /** The systems a run may include. */
    public static final List<String> SYSTEMS = List.of("direct", "l4mesh", "l4mesh-io_uring", "haproxy", "nginx");

    private final int seconds;
    private final int connections;
    private final Path dir;
    private final List<Process> processes = new ArrayList<>();
    /** Each started process's log. */
    private final Map<Process, Path> logs = new HashMap<>();
    private final java.io.PrintWriter log;

    public ProxyBench(int seconds, int connections, java.io.PrintWriter log) throws IOException {
        this.seconds = seconds;
        this.connections = connections;
        this.dir = Files.createTempDirectory("l4mesh-bench");
        this.log = log;
    }

    /** The tools that are missing here, each with the Debian package to install. */
    public static List<String> missing(boolean peers) {
        List<String> out = new ArrayList<>();
        for (String tool : peers ? List.of("iperf3", "wrk", "nginx", "haproxy") : List.of("iperf3", "wrk", "nginx")) {
            if (which(tool) == null) {
                out.add(tool + " (apt-get install " + PACKAGES.get(tool) + ")");
            }
        }
        if (peers && !Files.exists(Path.of(NGINX_STREAM_MODULE))) {
            out.add("nginx stream module (apt-get install libnginx-mod-stream)");
        }
        return out;
    }

    static String which(String tool) {
        for (String d : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            for (String dir : new String[] {d, "/usr/sbin", "/sbin"}) {
                Path p = Path.of(dir, tool);
                if (Files.isExecutable(p)) {
                    return p.toString();
                }
            }
        }
        return null;
    }

    /**
     * Runs the whole comparison; {@code systems} is a subset of direct, l4mesh, haproxy, nginx. Every proxy runs
     * for the whole benchmark (idle while another is measured) and the systems take turns in rounds (A B C, A B C,
     * ...), each round measuring every figure of every system once.
     *
     * @return one list of per-round results per system, in the order of {@code systems}
     */
    public Map<String, List<Result>> run(List<String> systems, int rounds) throws Exception {
        int iperfPort = freePort();
        int httpPort = freePort();
        start("iperf3", List.of(which("iperf3"), "-s", "-B", "127.0.0.1", "-p", Integer.toString(iperfPort)));
        startNginxHttp(httpPort);
        awaitPort(iperfPort);
        awaitPort(httpPort);
        Map<String, int[]> ports = new LinkedHashMap<>();
        Map<String, Process> proxies = new HashMap<>();
        for (String system : systems) {
            int proxyIperf = freePort();
            int proxyHttp = freePort();
            Process p = switch (system) {
                case "direct" -> {
                    proxyIperf = iperfPort;
                    proxyHttp = httpPort;
                    yield null;
                }
                case "l4mesh" -> startL4mesh("auto", proxyIperf, proxyHttp, iperfPort, httpPort);
                case "l4mesh-io_uring" -> startL4mesh("io_uring", proxyIperf, proxyHttp, iperfPort, httpPort);
                case "haproxy" -> startHaproxy(proxyIperf, proxyHttp, iperfPort, httpPort);
                case "nginx" -> startNginxStream(proxyIperf, proxyHttp, iperfPort, httpPort);
                default -> throw new IllegalArgumentException("unknown system " + system);
            };
            ports.put(system, new int[] {proxyIperf, proxyHttp});
            proxies.put(system, p);
        }
        for (var e : ports.entrySet()) {
            awaitPort(e.getValue()[0], proxies.get(e.getKey()));
            awaitPort(e.getValue()[1], proxies.get(e.getKey()));
            log.printf("bench: %s: warming up%n", e.getKey());
            wrk(e.getValue()[1], Math.max(2, seconds / 3), false);
        }
        Map<String, List<Result>> results = new LinkedHashMap<>();
        for (int round = 1; round <= rounds; round++) {
            for (var e : ports.entrySet()) {
                String system = e.getKey();
                log.printf("bench: round %d of %d: %s: iperf3, wrk Connection: close, wrk keep-alive, %d s each%n",
                    round, rounds, system, seconds);
                double gbit = iperf(e.getValue()[0]);
                double cps = wrk(e.getValue()[1], seconds, true)[0];
                double[] ka = wrk(e.getValue()[1], seconds, false);
                results.computeIfAbsent(system, k -> new ArrayList<>()).add(new Result(system, gbit, cps, ka[0], ka[1]));
            }
        }
        return results;
    }

    /** One system's figures over every round. */
    public record Summary(String system, Spread gbitPerSecond, Spread connectionsPerSecond, Spread requestsPerSecond,
                          Spread p99Millis) {
        static Summary of(String system, List<Result> rounds) {
            return new Summary(system, Spread.of(rounds.stream().map(Result::gbitPerSecond).toList()),
                Spread.of(rounds.stream().map(Result::connectionsPerSecond).toList()),
                Spread.of(rounds.stream().map(Result::requestsPerSecond).toList()),
                Spread.of(rounds.stream().map(Result::p99Millis).toList()));
        }
    }

    /** Each system's median and spread over the rounds, in the order of {@code results}. */
    public static List<Summary> summarise(Map<String, List<Result>> results) {
        return results.entrySet().stream().map(e -> Summary.of(e.getKey(), e.getValue())).toList();
    }

    private Process startL4mesh(String transport, int iperfListen, int httpListen, int iperf, int http)
            throws IOException {
        Path cfg = dir.resolve("l4mesh-" + transport + ".yaml");
        Files.writeString(cfg, """
            node: {id: bench}
            runtime: {transport: %s}
            admin: {bind: 127.0.0.1:0}
            listeners:
              - {name: iperf, bind: 127.0.0.1:%d, pool: iperf}
              - {name: http, bind: 127.0.0.1:%d, pool: http, maxConnections: 100000}
            pools:
              iperf: {backends: [127.0.0.1:%d]}
              http: {backends: [127.0.0.1:%d]}
            """.formatted(transport, iperfListen, httpListen, iperf, http));
        return start("l4mesh-" + transport, io.l4mesh.node.cli.L4meshCli.childCommand(List.of(),
            List.of("run", "--config", cfg.toString(), "--log-level", "warn")));
    }

    private Process startHaproxy(int iperfListen, int httpListen, int iperf, int http) throws IOException {
        Path cfg = dir.resolve("haproxy.cfg");
        Files.writeString(cfg, """
            global
                maxconn 9000
                nbthread 2
            defaults
                mode tcp
                timeout connect 5s
                timeout client 60s
                timeout server 60s
            frontend iperf
                bind 127.0.0.1:%d
                default_backend iperf
            backend iperf
                server s1 127.0.0.1:%d
            frontend http
                bind 127.0.0.1:%d
                default_backend http
            backend http
                server s1 127.0.0.1:%d
            """.formatted(iperfListen, iperf, httpListen, http));
        return start("haproxy", List.of(which("haproxy"), "-db", "-f", cfg.toString()));
    }

    private Process startNginxStream(int iperfListen, int httpListen, int iperf, int http) throws IOException {
        Path prefix = Files.createDirectories(dir.resolve("nginx-stream"));
        Path cfg = prefix.resolve("nginx.conf");
        Files.writeString(cfg, """
            load_module %s;
            daemon off;
            worker_processes 2;
            pid %s/nginx.pid;
            error_log %s/error.log warn;
            events { worker_connections 8192; }
            stream {
                server { listen 127.0.0.1:%d; proxy_pass 127.0.0.1:%d; }
                server { listen 127.0.0.1:%d; proxy_pass 127.0.0.1:%d; }
            }
            """.formatted(NGINX_STREAM_MODULE, prefix, prefix, iperfListen, iperf, httpListen, http));
        return start("nginx-stream", List.of(which("nginx"), "-p", prefix.toString(), "-c", cfg.toString()));
    }

    private void startNginxHttp(int port) throws IOException {
        Path prefix = Files.createDirectories(dir.resolve("nginx-http"));
        Path cfg = prefix.resolve("nginx.conf");
        Files.writeString(cfg, """
            daemon off;
            worker_processes 1;
            pid %s/nginx.pid;
            error_log %s/error.log warn;
            events { worker_connections 8192; }
            http {
                access_log off;
                keepalive_requests 1000000;
                server {
                    listen 127.0.0.1:%d reuseport;
                    location / { return 200 "l4mesh bench backend\\n"; }
                }
            }
            """.formatted(prefix, prefix, port));
        start("nginx-http", List.of(which("nginx"), "-p", prefix.toString(), "-c", cfg.toString()));
    }

    private double iperf(int port) throws Exception {
        String out = capture(List.of(which("iperf3"), "-c", "127.0.0.1", "-p", Integer.toString(port), "-t",
            Integer.toString(seconds), "-J"), seconds + 30);
        Matcher m = Pattern.compile("\"sum_received\"\\s*:\\s*\\{[^}]*?\"bits_per_second\"\\s*:\\s*([0-9.eE+]+)",
            Pattern.DOTALL).matcher(out);
        if (!m.find()) {
            throw new IOException("iperf3 gave no result: " + out.lines().limit(5).toList());
        }
        return Double.parseDouble(m.group(1)) / 1e9;
    }

    /** {requests per second, p99 latency in ms}. */
    private double[] wrk(int port, int secs, boolean close) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(which("wrk"), "-t2", "-c" + connections, "-d" + secs + "s",
            "--latency"));
        if (close) {
            cmd.addAll(List.of("-H", "Connection: close"));
        }
        cmd.add("http://127.0.0.1:" + port + "/");
        String out = capture(cmd, secs + 30);
        Matcher rps = Pattern.compile("Requests/sec:\\s+([0-9.]+)").matcher(out);
        Matcher p99 = Pattern.compile("\\s99%\\s+([0-9.]+)(us|ms|s)").matcher(out);
        if (!rps.find()) {
            throw new IOException("wrk gave no result: " + out);
        }
        double lat = Double.NaN;
        if (p99.find()) {
            double v = Double.parseDouble(p99.group(1));
            lat = switch (p99.group(2)) {
                case "us" -> v / 1000;
                case "s" -> v * 1000;
                default -> v;
            };
        }
        Matcher errors = Pattern.compile("Non-2xx or 3xx responses: (\\d+)|Socket errors: (.*)").matcher(out);
        if (errors.find()) {
            log.printf("bench: wrk reported: %s%n", errors.group().strip());
        }
        return new double[] {Double.parseDouble(rps.group(1)), lat};
    }

    private String capture(List<String> cmd, int timeoutSeconds) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        processes.add(p);
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(cmd.get(0) + " did not finish in " + timeoutSeconds + " s");
        }
        processes.remove(p);
        return new String(out, StandardCharsets.UTF_8);
    }

    private Process start(String name, List<String> cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
            .redirectOutput(dir.resolve(name + ".log").toFile()).start();
        processes.add(p);
        logs.put(p, dir.resolve(name + ".log"));
        return p;
    }

    private void stop(Process p) {
        p.destroy();
        try {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        processes.remove(p);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private void awaitPort(int port) throws Exception {
        awaitPort(port, null);
    }

    /**
     * Waits until something listens on {@code port}; fails at once if {@code owner} (the process that should, if
     * known) has exited, and in either failure says what the end of its log says.
     */
    private void awaitPort(int port, Process owner) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 500);
                return;
            } catch (IOException e) {
                if (owner != null && !owner.isAlive()) {
                    throw new IOException(logs.get(owner).getFileName() + ": exited with " + owner.exitValue()
                        + " before it listened on 127.0.0.1:" + port + logTail(owner));
                }
                if (System.nanoTime() > deadline) {
                    throw new IOException("nothing listens on 127.0.0.1:" + port + " after 30 s (logs in " + dir + ")"
                        + (owner == null ? "" : logTail(owner)));
                }
                Thread.sleep(50);
            }
        }
    }

    /** The last lines of a started process's log, for a failure's message. */
    private String logTail(Process p) {
        try {
            List<String> lines = Files.readAllLines(logs.get(p)).stream().filter(l -> !l.isBlank()).toList();
            return lines.isEmpty() ? "; its log is empty"
                : "; its log ends: " + String.join(" | ", lines.subList(Math.max(0, lines.size() - 5), lines.size()));
        } catch (IOException e) {
            return "; its log cannot be read: " + e.getMessage();
        }
    }

    /**
     * Ratios of l4mesh's median to the best peer's median per figure (latency: peer / l4mesh, so above 1 is better
     * too); empty without l4mesh or a peer.
     */
    public static Map<String, Double> ratios(List<Summary> results) {
        Map<String, Double> r = new LinkedHashMap<>();
        Summary mine = results.stream().filter(x -> x.system().equals("l4mesh")).findFirst().orElse(null);
        List<Summary> peers = results.stream().filter(x -> x.system().equals("haproxy") || x.system().equals("nginx"))
            .toList();
        if (mine == null || peers.isEmpty()) {
            return r;
        }
        r.put("throughput", mine.gbitPerSecond().median()
            / peers.stream().mapToDouble(x -> x.gbitPerSecond().median()).max().orElseThrow());
        r.put("connectionsPerSecond", mine.connectionsPerSecond().median()
            / peers.stream().mapToDouble(x -> x.connectionsPerSecond().median()).max().orElseThrow());
        r.put("requestsPerSecond", mine.requestsPerSecond().median()
            / peers.stream().mapToDouble(x -> x.requestsPerSecond().median()).max().orElseThrow());
        r.put("p99Latency", peers.stream().mapToDouble(x -> x.p99Millis().median()).min().orElseThrow()
            / mine.p99Millis().median());
        return r;
    }

    @Override
    public void close() throws IOException {
        for (Process p : new ArrayList<>(processes)) {
            stop(p);
        }
        try (var walk = Files.walk(dir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
