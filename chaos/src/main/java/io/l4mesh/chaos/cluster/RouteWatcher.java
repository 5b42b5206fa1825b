package io.l4mesh.chaos.cluster;

import io.l4mesh.chaos.lab.Lab;
import io.l4mesh.node.packet.Commands;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * Watches the lab router's route to the VIP: {@code ip monitor route} in the router's namespace wakes it on every
 * change (so a withdrawal is seen within milliseconds), and it reads the route's next hops again; a poll every
 * 500 ms covers a missed wake-up. Listeners hear each change of the set of serving nodes with its time.
 *
 * <p>Threading: its own two threads; {@link #serving()} from any thread.
 */
final class RouteWatcher implements AutoCloseable {
    private final String vip;
    private volatile Consumer<Set<Integer>> listener;
    private final Object wake = new Object();
    private volatile Set<Integer> serving = Set.of();
    private volatile boolean running = true;
    private volatile Process monitor;
    private final Thread reader;
    private final Thread poller;

    RouteWatcher(String vip) {
        this.vip = vip;
        refresh();
        this.reader = Thread.ofPlatform().daemon().name("chaos-route-monitor").start(this::monitorLoop);
        this.poller = Thread.ofPlatform().daemon().name("chaos-route-poll").start(this::pollLoop);
    }

    Set<Integer> serving() {
        return serving;
    }

    /** Calls {@code l} (on the watcher's thread) with the new set each time it changes; replaces the last one. */
    void onChange(Consumer<Set<Integer>> l) {
        listener = l;
    }

    private void monitorLoop() {
        while (running) {
            try {
                Process p = new ProcessBuilder("ip", "-n", Lab.routerNamespace(), "monitor", "route")
                    .redirectErrorStream(true).start();
                monitor = p;
                try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(),
                    StandardCharsets.UTF_8))) {
                    while (running && r.readLine() != null) {
                        synchronized (wake) {
                            wake.notifyAll();
                        }
                    }
                }
                p.destroy();
                Thread.sleep(200);     // the namespace went away for a moment (the lab is rebuilt): start again
            } catch (Exception e) {
                if (!running) {
                    return;
                }
            }
        }
    }

    private void pollLoop() {
        while (running) {
            synchronized (wake) {
                try {
                    wake.wait(500);
                } catch (InterruptedException e) {
                    return;
                }
            }
            refresh();
        }
    }

    private synchronized void refresh() {
        Set<Integer> now = new TreeSet<>();
        try {
            String out = Commands.run(List.of("ip", "-4", "-n", Lab.routerNamespace(), "route", "show", vip + "/32"));
            for (String hop : Lab.nextHops(out)) {
                now.add(nodeOf(hop));
            }
        } catch (Exception e) {
            return;    // no router namespace (being rebuilt): keep the last view
        }
        Set<Integer> view = Set.copyOf(now);
        if (!view.equals(serving)) {
            serving = view;
            Consumer<Set<Integer>> l = listener;
            if (l != null) {
                l.accept(view);
            }
        }
    }

    /** The node behind next hop {@code 198.18.(20+i).2}, or 0. */
    static int nodeOf(String hop) {
        String[] p = hop.split("\\.");
        if (p.length != 4 || !p[0].equals("198") || !p[1].equals("18")) {
            return 0;
        }
        int third = Integer.parseInt(p[2]);
        return third > 20 && third <= 20 + Lab.MAX_HOSTS ? third - 20 : 0;
    }

    @Override
    public void close() {
        running = false;
        Process p = monitor;
        if (p != null) {
            p.destroy();
        }
        reader.interrupt();
        poller.interrupt();
    }
}
