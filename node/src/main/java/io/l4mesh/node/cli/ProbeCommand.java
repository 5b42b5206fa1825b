package io.l4mesh.node.cli;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code l4mesh probe ADDRESS}: opens connections (or UDP sessions) from fresh source ports, sends a line, and
 * tallies who answered by the first word of the reply (the demo backends answer with their name).
 */
@Command(name = "probe", mixinStandardHelpOptions = true,
    description = "Send a line over COUNT new TCP connections (or UDP sockets) and tally the first word of replies.")
public final class ProbeCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "HOST:PORT")
    String address;

    @Option(names = "--count", defaultValue = "10", description = "Connections to open (default 10, at most 10000).")
    int count;

    @Option(names = "--udp", description = "Use UDP datagrams instead of TCP connections.")
    boolean udp;

    @Option(names = "--json", description = "Print one JSON object: answer -> count.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        int colon = address.lastIndexOf(':');
        if (colon < 0 || count < 1 || count > 10_000) {
            System.err.println("l4mesh probe: need HOST:PORT and 1 <= --count <= 10000");
            return L4meshCli.EXIT_USAGE;
        }
        InetSocketAddress target = new InetSocketAddress(address.substring(0, colon).replace("[", "").replace("]", ""),
            Integer.parseInt(address.substring(colon + 1)));
        Map<String, Integer> tally = new TreeMap<>();
        for (int i = 0; i < count; i++) {
            String who;
            try {
                who = udp ? udp(target, i) : tcp(target, i);
            } catch (SocketTimeoutException e) {
                who = "(no answer)";
            } catch (java.io.IOException e) {
                who = "(" + e.getClass().getSimpleName() + ")";
            }
            tally.merge(who, 1, Integer::sum);
        }
        if (json) {
            System.out.println(new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(tally));
        } else {
            tally.forEach((k, v) -> System.out.printf("%-20s %d%n", k, v));
        }
        return 0;
    }

    private static String tcp(InetSocketAddress target, int i) throws java.io.IOException {
        try (Socket s = new Socket()) {
            s.connect(target, 2000);
            s.setSoTimeout(2000);
            s.getOutputStream().write(("hello " + i + "\n").getBytes(StandardCharsets.UTF_8));
            String line = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8)).readLine();
            return line == null ? "(closed)" : line.split(" ", 2)[0];
        }
    }

    private static String udp(InetSocketAddress target, int i) throws java.io.IOException {
        try (DatagramSocket s = new DatagramSocket()) {
            s.setSoTimeout(2000);
            byte[] msg = ("hello " + i).getBytes(StandardCharsets.UTF_8);
            s.send(new DatagramPacket(msg, msg.length, target));
            byte[] buf = new byte[2048];
            DatagramPacket p = new DatagramPacket(buf, buf.length);
            s.receive(p);
            return new String(p.getData(), 0, p.getLength(), StandardCharsets.UTF_8).split(" ", 2)[0];
        }
    }
}
