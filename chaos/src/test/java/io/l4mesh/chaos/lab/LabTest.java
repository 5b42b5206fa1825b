package io.l4mesh.chaos.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.l4mesh.node.packet.NetNamespace;
import io.l4mesh.node.testing.Await;
import io.l4mesh.node.testing.Clients;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The lab: a client reaches the VIP through a BGP/ECMP router and two l4mesh nodes in packet mode; connections spread
 * over both nodes; stopping a node withdraws its route and new connections go on through the other.
 */
@Tag("slow")
@Timeout(value = 240, unit = TimeUnit.SECONDS)
public class LabTest {
    @TempDir
    Path dir;
    private Lab lab;

    private String test;

    @org.junit.jupiter.api.BeforeEach
    void lab(org.junit.jupiter.api.TestInfo info) {
        lab = new Lab(dir);
        test = getClass().getSimpleName() + "." + info.getTestMethod().map(m -> m.getName()).orElse("test");
    }

    /** Skips (with the reason) where the lab cannot run: not root, no TUN device, no BIRD 2. */
    public static void assumeLab() {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs root (namespaces, TUN, BIRD)");
        Assumptions.assumeTrue(Files.exists(Path.of("/dev/net/tun")), "no /dev/net/tun here");
        Assumptions.assumeTrue(bird(), "BIRD 2 is not installed (Debian package bird2)");
    }

    static boolean bird() {
        return Files.isExecutable(Path.of("/usr/sbin/bird")) || Files.isExecutable(Path.of("/usr/bin/bird"));
    }

    private static String ask() throws Exception {
        return NetNamespace.call("l4lab-c1", () -> {
            try (Socket s = new Socket()) {
                s.setSoTimeout(5000);
                s.connect(new InetSocketAddress(Lab.VIP, Lab.PORT), 5000);
                return Clients.askOn(s, "hello");
            }
        });
    }

    /** A TCP connection to the VIP completes (the backends' servers accept it). */
    private static boolean reachable() throws Exception {
        return NetNamespace.call("l4lab-c1", () -> {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(Lab.VIP, Lab.PORT), 5000);
                return true;
            }
        });
    }

    /**
     * Opens new connections to the VIP from the client, four at a time, one every 2 ms each, for {@code ms}; returns
     * the failures ("at T ms: why"), empty when every one connected. The router moves a node's traffic within tens of
     * milliseconds, so the rate must be high enough to land connections in that window.
     */
    private static List<String> connectFailures(long ms) {
        try {
            return NetNamespace.call("l4lab-c1", () -> {
                List<String> failures = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
                long start = System.nanoTime();
                List<Thread> threads = new java.util.ArrayList<>();
                for (int t = 0; t < 4; t++) {
                    threads.add(Thread.ofPlatform().start(() -> {
                        for (int i = 0; i < 2000 && System.nanoTime() - start < ms * 1_000_000; i++) {
                            try (Socket s = new Socket()) {
                                s.connect(new InetSocketAddress(Lab.VIP, Lab.PORT), 5000);
                            } catch (java.io.IOException e) {
                                failures.add("at " + (System.nanoTime() - start) / 1_000_000 + " ms: " + e);
                            }
                            java.util.concurrent.locks.LockSupport.parkNanos(2_000_000);
                        }
                    }));
                }
                for (Thread t : threads) {
                    t.join();
                }
                return List.copyOf(failures);
            });
        } catch (Exception e) {
            return List.of("could not run in the client's namespace: " + e);
        }
    }

    /** Sends a line from a fresh source port and returns {answering backend, client port}. */
    private static String[] askWithPort() throws Exception {
        return NetNamespace.call("l4lab-c1", () -> {
            try (Socket s = new Socket()) {
                s.setSoTimeout(5000);
                s.connect(new InetSocketAddress(Lab.VIP, Lab.PORT), 5000);
                return new String[] {Clients.askOn(s, "hello"), Integer.toString(s.getLocalPort())};
            }
        });
    }

    /** What node {@code node}'s admin API says Maglev picks for a client port. */
    private String lookup(int node, int clientPort) throws Exception {
        String body = admin(lab, node, "GET", "/lookup?listener=vip&src=198.18.11.2:" + clientPort + "&dst=" + Lab.VIP + ":"
            + Lab.PORT, null);
        Matcher m = Pattern.compile("\"backend\" : \"([^\"]+)\"").matcher(body);
        return m.find() ? m.group(1) : body;
    }

    private long forwarded(int node) throws Exception {
        return metricSum(lab, node, "l4mesh_packets_total\\{[^}]*result=\"forwarded\"}");
    }

    /**
     * A node whose pool has no healthy backend fails its self-check, and its announcer withdraws the VIP; when the
     * backend comes back the node serves and announces again.
     */
    @Test
    void aNodeWithNoHealthyBackendWithdraws() throws Exception {
        assumeLab();
        try {
            Lab.State s = lab.up(1, 1, 1, Lab.selfCommand());
            Await.until(Duration.ofSeconds(60), "the node announces the VIP", () -> {
                try {
                    return lab.vipNextHops().size() == 1;
                } catch (Exception e) {
                    return false;
                }
            });
            long t0 = System.nanoTime();
            ProcessHandle.of(s.processes().get("backend-1")).orElseThrow().destroyForcibly();
            Await.until(Duration.ofSeconds(15), "withdrawn for want of backends", () -> {
                try {
                    return lab.vipNextHops().isEmpty();
                } catch (Exception e) {
                    return false;
                }
            });
            System.out.printf("lab: last backend down to withdrawal %d ms%n", (System.nanoTime() - t0) / 1_000_000);
            // the backend comes back: probes through the tunnel do not need the withdrawn VIP route, so they see it
            long r0 = System.nanoTime();
            lab.startBackend(1, Lab.selfCommand());
            Await.until(Duration.ofSeconds(20), "announced again once the backend is back", () -> {
                try {
                    return lab.vipNextHops().size() == 1;
                } catch (Exception e) {
                    return false;
                }
            });
            System.out.printf("lab: backend back to announced again %d ms%n", (System.nanoTime() - r0) / 1_000_000);
        } catch (Throwable t) {
            keepLogs(lab, test);
            throw t;
        } finally {
            lab.down();
        }
    }

    /**
     * Health through the tunnel: a backend whose decapsulation dies still answers on its own address, but the node's
     * probe of the VIP through the encapsulation fails, so the backend is marked down and takes no more flows.
     */
    @Test
    void aBackendWhoseDecapsulationDiesIsMarkedDown() throws Exception {
        assumeLab();
        try {
            Lab.State s = lab.up(1, 2, 1, Lab.selfCommand());
            // the first probes may go direct (before the VIP's listener is up); then they go through the tunnel
            // and the VIP announced: the node's admin API (and its probes) answer before it serves, and a decap
            // killed that early left the test asking a VIP that the router did not route yet
            Await.until(Duration.ofSeconds(60), "both backends up, probed through the tunnel, the VIP routed", () -> {
                try {
                    return up(1, 1) && up(1, 2) && metricSum(lab, 1, "l4mesh_packets_total\\{[^}]*listener=\"vip\""
                        + "[^}]*result=\"health_probe\"[^}]*}") > 4 && !lab.vipNextHops(Lab.VIP).isEmpty();
                } catch (Exception e) {
                    return false;
                }
            });
            long t0 = System.nanoTime();
            ProcessHandle.of(s.processes().get("decap-1")).orElseThrow().destroyForcibly();
            Await.until(Duration.ofSeconds(15), "backend 1 marked down", () -> !up(1, 1));
            System.out.printf("lab: backend 1's decap killed to marked down %d ms%n",
                (System.nanoTime() - t0) / 1_000_000);
            assertTrue(up(1, 2), "backend 2 stays up");
            // its own address still answers: only a probe through the tunnel sees the failure
            assertTrue(NetNamespace.call("l4lab-n1", () -> {
                try (Socket c = new Socket()) {
                    c.connect(new InetSocketAddress(Lab.backendAddress(1), Lab.PORT), 3000);
                    return true;
                }
            }), "backend 1 still accepts on its own address");
            for (int i = 0; i < 10; i++) {
                assertEquals("backend-2", ask(), "new connections go to the backend that works");
            }
        } catch (Throwable t) {
            keepLogs(lab, test);
            throw t;
        } finally {
            lab.down();
        }
    }

    private boolean up(int node, int backend) {
        try {
            return metricSum(lab, node, "l4mesh_backend_up\\{[^}]*backend=\"" + Lab.backendAddress(backend).replace(".", "\\.")
                + ":" + Lab.PORT + "\"[^}]*}") == 1;
        } catch (Exception e) {
            return false;
        }
    }

    /** One request to a lab node's admin API; the status line, as the tests print it, and the body. */
    static String admin(Lab lab, int node, String method, String path, String body) throws Exception {
        io.l4mesh.node.admin.AdminClient.Response r = lab.admin(node, method, path, body);
        return "HTTP/1.1 " + r.status() + "\n\n" + r.body();
    }

    /** The sum of the samples of a metric (regex up to the closing brace) on a lab node. */
    static long metricSum(Lab lab, int node, String regex) throws Exception {
        return (long) lab.metricSum(node, regex);
    }

    /**
     * A failed lab test keeps the lab's logs (nodes, backends, announcers, BIRD): they are copied to
     * {@code target/lab-logs/TEST} before the lab is removed, and the place is printed.
     */
    static void keepLogs(Lab lab, String test) {
        Path kept = Path.of("target", "lab-logs", test).toAbsolutePath();
        try {
            lab.keepLogs(kept);
            System.out.println("lab: logs of the failed run kept in " + kept);
        } catch (IOException e) {
            System.out.println("lab: could not keep the logs: " + e);
        }
    }

    /** Prints what the nodes say about their backends and the router's routes, for a failure's report. */
    private void diagnose(Lab lab) {
        try {
            for (String vip : List.of(Lab.VIP, Lab.UDP_VIP)) {
                System.out.println("DIAG next hops for " + vip + ": " + lab.vipNextHops(vip));
            }
            for (int n = 1; n <= lab.state().nodes(); n++) {
                final int node = n;
                String m = admin(lab, node, "GET", "/metrics", null);
                m.lines().filter(l -> l.startsWith("l4mesh_backend_up") || l.startsWith("l4mesh_backend_eligible")
                        || l.startsWith("l4mesh_health_checks") || l.startsWith("l4mesh_mesh_members")
                        || l.startsWith("l4mesh_packets_total") && l.contains("forwarded"))
                    .forEach(l -> System.out.println("DIAG n" + node + " " + l));
                Path log = lab.stateFile().getParent().resolve("node-" + node + ".log");
                if (Files.exists(log)) {
                    Files.readAllLines(log).stream().filter(l -> l.contains("backend.") || l.contains("mesh."))
                        .forEach(l -> System.out.println("DIAG n" + node + " log " + l));
                }
            }
        } catch (Exception e) {
            System.out.println("DIAG failed: " + e);
        }
    }

    private final List<java.net.ServerSocket> servers = new java.util.concurrent.CopyOnWriteArrayList<>();

    @Test
    void ecmpSpreadsOverNodesAndAStoppedNodeIsWithdrawn() throws Exception {
        assumeLab();
        try {
            Lab.State s = lab.up(2, 2, 1, Lab.selfCommand());
            Await.until(Duration.ofSeconds(60), "both nodes announce the VIP", () -> {
                try {
                    return lab.vipNextHops().size() == 2;
                } catch (Exception e) {
                    return false;
                }
            });
            Await.until(Duration.ofSeconds(20), "both nodes' admin APIs answer", () -> {
                try {
                    return forwarded(1) >= 0 && forwarded(2) >= 0;
                } catch (Exception e) {
                    return false;
                }
            });
            java.util.Map<String, Integer> perBackend = new java.util.TreeMap<>();
            for (int i = 0; i < 40; i++) {
                String[] r = askWithPort();
                String expected = lookup(1 + i % 2, Integer.parseInt(r[1]));
                String name = "backend-" + (expected.startsWith("198.18.41.") ? 1 : 2);
                assertEquals(name, r[0], "connection " + i + " from port " + r[1] + " lands where Maglev says ("
                    + expected + ")");
                perBackend.merge(r[0], 1, Integer::sum);
            }
            assertEquals(2, perBackend.size(), "both backends used: " + perBackend);
            long f1 = forwarded(1);
            long f2 = forwarded(2);
            System.out.printf("lab: node 1 forwarded %d packets, node 2 %d%n", f1, f2);
            assertTrue(f1 > 0 && f2 > 0, "ECMP spread the connections over both nodes: " + f1 + ", " + f2);

            // UDP through the other VIP: each backend's demo backend, bound to the VIP, answers the client directly.
            Await.until(Duration.ofSeconds(20), "the UDP VIP is announced", () -> {
                try {
                    return lab.vipNextHops(Lab.UDP_VIP).size() == 2;
                } catch (Exception e) {
                    return false;
                }
            });
            java.util.Set<String> udpBackends = new java.util.TreeSet<>();
            for (int i = 0; i < 20; i++) {
                final int k = i;
                String reply = NetNamespace.call("l4lab-c1", () -> {
                    try (java.net.DatagramSocket d = new java.net.DatagramSocket()) {
                        d.connect(new InetSocketAddress(Lab.UDP_VIP, Lab.UDP_PORT));   // replies must come from the VIP
                        d.setSoTimeout(3000);
                        byte[] out = ("ping " + k).getBytes();
                        d.send(new java.net.DatagramPacket(out, out.length));
                        java.net.DatagramPacket in = new java.net.DatagramPacket(new byte[1500], 1500);
                        d.receive(in);
                        return new String(in.getData(), 0, in.getLength());
                    }
                });
                assertTrue(reply.endsWith(" ping " + i), reply);
                udpBackends.add(reply.split(" ")[0]);
            }
            System.out.println("lab: UDP answered by " + udpBackends);
            if (udpBackends.size() != 2) {
                diagnose(lab);
            }
            assertEquals(java.util.Set.of("backend-1", "backend-2"), udpBackends, "UDP flows spread over both backends");

            // 2 MiB each way through the router and a node: the demo backends make way for checksumming servers.
            for (int b = 1; b <= 2; b++) {
                ProcessHandle demo = ProcessHandle.of(s.processes().get("backend-" + b)).orElseThrow();
                demo.destroyForcibly();
                demo.onExit().get(10, TimeUnit.SECONDS);
            }
            long size = 2L << 20;
            // each bulk connection's {received from the client, sent back}
            java.util.concurrent.BlockingQueue<byte[][]> served = new java.util.concurrent.LinkedBlockingQueue<>();
            // the two bulk transfers (IPv4, IPv6); later client connections are accepted and closed
            java.util.concurrent.atomic.AtomicInteger bulkLeft = new java.util.concurrent.atomic.AtomicInteger(2);
            for (int b = 1; b <= 2; b++) {
                String bn = "l4lab-b" + b;
                java.util.concurrent.CompletableFuture<Void> ready = new java.util.concurrent.CompletableFuture<>();
                Thread.ofPlatform().daemon().start(() -> {
                    try {
                        NetNamespace.call(bn, () -> {
                            // Serves until the lab goes down: each client connection (IPv4 or IPv6) gets the bulk
                            // transfer; health probes from the nodes get their answer.
                            try (java.net.ServerSocket server = new java.net.ServerSocket(Lab.PORT, 50)) {
                                servers.add(server);
                                ready.complete(null);
                                while (true) {
                                    try (Socket c = server.accept()) {
                                        String from = c.getInetAddress().getHostAddress();
                                        if (!from.equals("198.18.11.2") && !from.startsWith("fd00:11:")
                                            || bulkLeft.getAndDecrement() <= 0) {
                                            c.setSoTimeout(1000);
                                            String probe = Clients.readLine(c.getInputStream());
                                            c.getOutputStream().write(("bulk " + probe + "\n").getBytes());
                                            continue;
                                        }
                                        var reader = Clients.readAllAsync(c.getInputStream());
                                        byte[] back = Clients.writeRandom(c.getOutputStream(), size, 7);
                                        c.shutdownOutput();
                                        served.add(new byte[][] {(byte[]) reader.get(60, TimeUnit.SECONDS)[0], back});
                                    } catch (java.net.SocketException e) {
                                        if (server.isClosed()) {
                                            throw e;
                                        }
                                    }
                                }
                            } catch (IOException e) {
                                return null;   // the namespace went away with the lab
                            }
                        });
                    } catch (Exception e) {
                        ready.completeExceptionally(e);
                    }
                });
                ready.get(10, TimeUnit.SECONDS);
            }
            Await.until(Duration.ofSeconds(30), "the IPv6 VIP announced by both nodes", () -> {
                try {
                    return lab.vipNextHops(Lab.VIP6).size() == 2;
                } catch (Exception e) {
                    return false;
                }
            });
            for (String vip : List.of(Lab.VIP, Lab.VIP6)) {
                long before = forwarded(1) + forwarded(2);
                Object[] received = NetNamespace.call("l4lab-c1", () -> {
                    try (Socket c = new Socket()) {
                        c.setSoTimeout(30_000);
                        c.connect(new InetSocketAddress(vip, Lab.PORT), 5000);
                        var reader = Clients.readAllAsync(c.getInputStream());
                        byte[] sent = Clients.writeRandom(c.getOutputStream(), size, 6);
                        c.shutdownOutput();
                        Object[] r = reader.get(60, TimeUnit.SECONDS);
                        return new Object[] {sent, r[0], r[1]};
                    }
                });
                assertEquals(size, (long) received[2]);
                byte[][] server = served.poll(30, TimeUnit.SECONDS);
                assertTrue(server != null, "the backend finished");
                org.junit.jupiter.api.Assertions.assertArrayEquals((byte[]) received[0], server[0],
                    "client to server intact through router and node (" + vip + ")");
                org.junit.jupiter.api.Assertions.assertArrayEquals(server[1], (byte[]) received[1],
                    "server to client intact, straight back (" + vip + ")");
                long carried = forwarded(1) + forwarded(2) - before;
                System.out.printf("lab: 2 MiB each way through the router to %s; nodes forwarded %d packets%n", vip,
                    carried);
                assertTrue(carried > 1000 && carried < 4000, "only the client's direction: " + carried);
            }

            // A hung node (SIGSTOP) keeps its TUN, so only 'l4mesh announce' can withdraw it; SIGCONT brings it back.
            long h0 = System.nanoTime();
            long pid1 = s.processes().get("node-1");
            Lab.run(List.of("kill", "-STOP", Long.toString(pid1)));
            try {
                Await.until(Duration.ofSeconds(10), "hung node withdrawn", () -> {
                    try {
                        return lab.vipNextHops().equals(List.of("198.18.22.2"));
                    } catch (Exception e) {
                        return false;
                    }
                });
                System.out.printf("lab: SIGSTOP to withdrawal %d ms%n", (System.nanoTime() - h0) / 1_000_000);
                for (int i = 0; i < 10; i++) {
                    assertTrue(reachable(), "while node 1 hangs, connection " + i);
                }
            } finally {
                Lab.run(List.of("kill", "-CONT", Long.toString(pid1)));
            }
            Await.until(Duration.ofSeconds(10), "node 1 back", () -> {
                try {
                    return lab.vipNextHops().size() == 2;
                } catch (Exception e) {
                    return false;
                }
            });

            // SIGTERM: the node withdraws its VIP first and forwards until the router moved the traffic, so new
            // connections opened all through the drain succeed (a TUN closed first answered some with "no route")
            java.util.concurrent.CompletableFuture<List<String>> during = java.util.concurrent.CompletableFuture
                .supplyAsync(() -> connectFailures(2500));
            Thread.sleep(300);
            long t0 = System.nanoTime();
            ProcessHandle.of(s.processes().get("node-1")).orElseThrow().destroy();   // SIGTERM
            Await.until(Duration.ofSeconds(10), "node 1 withdrawn", () -> {
                try {
                    return lab.vipNextHops().equals(List.of("198.18.22.2"));
                } catch (Exception e) {
                    return false;
                }
            });
            System.out.printf("lab: SIGTERM to withdrawal %d ms%n", (System.nanoTime() - t0) / 1_000_000);
            List<String> failed = during.get(30, TimeUnit.SECONDS);
            assertEquals(List.of(), failed, "new connections while node 1 drains");
            for (int i = 0; i < 20; i++) {
                assertTrue(reachable(), "after the withdrawal, connection " + i);
            }

            // kill -9: no chance to clean up, but the TUN closes with the process and BIRD withdraws the route. Until
            // the router has moved the traffic, what reaches the dead node is dropped (a blackhole behind the TUN
            // route), not bounced back to the router until its TTL runs out: clients resend the SYN and connect.
            ProcessHandle.of(s.processes().get("node-1")).ifPresent(h -> h.onExit().join());   // drained
            lab.startNode(1, Lab.selfCommand());
            Await.until(Duration.ofSeconds(30), "node 1 back", () -> {
                try {
                    return lab.vipNextHops().size() == 2;
                } catch (Exception e) {
                    return false;
                }
            });
            java.util.concurrent.CompletableFuture<List<String>> killed = java.util.concurrent.CompletableFuture
                .supplyAsync(() -> connectFailures(2500));
            Thread.sleep(300);
            long k0 = System.nanoTime();
            ProcessHandle.of(lab.state().processes().get("node-2")).orElseThrow().destroyForcibly();
            Await.until(Duration.ofSeconds(10), "node 2 withdrawn", () -> {
                try {
                    return lab.vipNextHops().equals(List.of("198.18.21.2"));
                } catch (Exception e) {
                    return false;
                }
            });
            System.out.printf("lab: kill -9 to withdrawal %d ms%n", (System.nanoTime() - k0) / 1_000_000);
            assertEquals(List.of(), killed.get(30, TimeUnit.SECONDS), "new connections while node 2 dies");
            // the kernel's own answer on the dead node: the VIP is dropped there, not sent back to the router
            Process get = new ProcessBuilder("ip", "netns", "exec", "l4lab-n2", "ip", "route", "get", Lab.VIP,
                "from", Lab.clientAddress(1), "iif", "ln2").redirectErrorStream(true).start();
            String answer = new String(get.getInputStream().readAllBytes()).strip();
            assertTrue(get.waitFor(10, TimeUnit.SECONDS) && get.exitValue() != 0 && !answer.contains("via"),
                "a dead node must not route the VIP back to the router: " + answer);
        } catch (Throwable t) {
            keepLogs(lab, test);
            throw t;
        } finally {
            for (java.net.ServerSocket server : servers) {
                server.close();   // so no socket keeps a removed namespace alive
            }
            lab.down();
        }
        assertTrue(!Files.exists(lab.stateFile()));
        assertTrue(!Lab.namespaceExists("l4lab-r") && !Lab.namespaceExists("l4lab-n1"), "namespaces removed");
    }
}
