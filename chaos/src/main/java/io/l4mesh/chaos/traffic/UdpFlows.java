package io.l4mesh.chaos.traffic;

import io.l4mesh.chaos.cluster.ClientSide;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * UDP request/response flows: each flow is one client socket (one source port, so one 5-tuple) that sends a
 * numbered request every {@code intervalMs} and waits for the backend's answer. A request not answered within
 * {@link #REPLY_TIMEOUT_MS} is lost; an answer from another backend than the flow's last one is a backend change.
 *
 * <p>Threading: one virtual thread per flow; the results are read after {@link #join} (and sampled meanwhile).
 */
public final class UdpFlows {
    static final int REPLY_TIMEOUT_MS = 400;

    /** What a flow did: requests sent and answered, and each change of backend ("T ms: a -> b"). */
    public record Result(int id, long sent, long answered, int changes, List<String> changesSeen, String backend,
                         int localPort) {
        public long lost() {
            return sent - answered;
        }
    }

    /** One flow's record. */
    public static final class Flow {
        final int id;
        volatile long sent;
        volatile long answered;
        volatile int changes;
        volatile String backend;
        volatile int localPort = -1;
        final List<Long> lostAtMs = new ArrayList<>();
        final List<String> changesSeen = new ArrayList<>();

        Flow(int id) {
            this.id = id;
        }

        public int id() {
            return id;
        }

        public long sent() {
            return sent;
        }

        public long answered() {
            return answered;
        }

        public long lost() {
            return sent - answered;
        }

        public int changes() {
            return changes;
        }

        public String backend() {
            return backend;
        }

        public synchronized List<Long> lostAtMs() {
            return List.copyOf(lostAtMs);
        }

        public synchronized List<String> changesSeen() {
            return List.copyOf(changesSeen);
        }

        public Result result() {
            return new Result(id, sent, answered, changes, changesSeen(), backend, localPort);
        }
    }

    private final ClientSide clients;
    private final int count;
    private final long intervalMs;
    private final RunClock clock;
    private final AtomicBoolean stop;
    private final List<Flow> flows = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();

    UdpFlows(ClientSide clients, int count, long intervalMs, RunClock clock, AtomicBoolean stop) {
        this.clients = clients;
        this.count = count;
        this.intervalMs = intervalMs;
        this.clock = clock;
        this.stop = stop;
    }

    void start() throws IOException {
        for (int i = 0; i < count; i++) {
            Flow f = new Flow(i);
            DatagramChannel ch = clients.openUdp();
            ch.connect(clients.udpTarget(i));   // answers must come from the address the client sent to
            f.localPort = ((java.net.InetSocketAddress) ch.getLocalAddress()).getPort();
            ch.socket().setSoTimeout(REPLY_TIMEOUT_MS);
            flows.add(f);
            threads.add(Thread.ofVirtual().name("chaos-udp-" + i).start(() -> run(f, ch)));
        }
    }

    private void run(Flow f, DatagramChannel ch) {
        ByteBuffer in = ByteBuffer.allocate(2048);
        try (ch) {
            long seq = 0;
            while (!stop.get()) {
                String req = "u" + f.id + " n" + seq;
                long sentAt = System.nanoTime();
                try {
                    ch.write(ByteBuffer.wrap(req.getBytes(StandardCharsets.US_ASCII)));
                } catch (IOException e) {
                    // an ICMP error from an earlier datagram (port unreachable): this one counts as lost
                }
                f.sent = seq + 1;
                String answer = await(ch, in, req, sentAt);
                if (answer != null) {
                    f.answered++;
                    String who = answer.substring(0, answer.indexOf(' '));
                    if (f.backend != null && !f.backend.equals(who)) {
                        f.changes++;
                        synchronized (f) {
                            f.changesSeen.add(clock.nowMs() + " ms: " + f.backend + " -> " + who);
                        }
                    }
                    f.backend = who;
                } else {
                    synchronized (f) {
                        f.lostAtMs.add(clock.nowMs());
                    }
                }
                seq++;
                long left = intervalMs - (System.nanoTime() - sentAt) / 1_000_000;
                if (left > 0) {
                    Thread.sleep(left);
                }
            }
        } catch (IOException | InterruptedException e) {
            // the run is over
        }
    }

    /** The answer to {@code req} (late answers to earlier requests are skipped), or null when none came in time. */
    private static String await(DatagramChannel ch, ByteBuffer in, String req, long sentAt) {
        while (true) {
            long left = REPLY_TIMEOUT_MS - (System.nanoTime() - sentAt) / 1_000_000;
            if (left <= 0) {
                return null;
            }
            try {
                in.clear();
                ch.socket().setSoTimeout((int) left);
                java.net.DatagramPacket p = new java.net.DatagramPacket(in.array(), in.capacity());
                ch.socket().receive(p);
                String s = new String(p.getData(), 0, p.getLength(), StandardCharsets.US_ASCII);
                int sp = s.indexOf(' ');
                if (sp > 0 && s.substring(sp + 1).equals(req)) {
                    return s;
                }
            } catch (SocketTimeoutException e) {
                return null;
            } catch (IOException e) {
                return null;   // port unreachable reported for this socket: lost
            }
        }
    }

    void join() throws InterruptedException {
        for (Thread t : threads) {
            t.join(5000);
        }
    }

    public List<Flow> flows() {
        return List.copyOf(flows);
    }
}
