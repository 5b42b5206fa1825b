package io.l4mesh.node.packet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.l4mesh.node.testing.Await;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code l4mesh decap}'s receiver in a network namespace this test makes and removes: GUE datagrams sent to it in a
 * burst (so that receives take several at once) come out of its TUN device as the packets they carry and reach a
 * socket in the namespace; datagrams that carry no IP packet are counted and dropped; close stops the receiving
 * thread. Root only; skipped elsewhere with the reason.
 */
@Tag("slow")
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class GueDecapsulatorTest {
    @Test
    void burstsOfDatagramsBecomePacketsAndGarbageIsCountedAndDropped() throws Exception {
        TunTest.assumeTunAndNamespaces();
        String ns = "l4md-" + ProcessHandle.current().pid();
        TunTest.ip("netns", "add", ns);
        try {
            NetNamespace.call(ns, () -> {
                try (Tun tun = Tun.open("l4dec0", false);
                     Arena arena = Arena.ofConfined();
                     DatagramSocket sender = new DatagramSocket()) {
                    TunTest.ip("-n", ns, "link", "set", "lo", "up");
                    TunTest.ip("-n", ns, "link", "set", "l4dec0", "up");
                    TunTest.ip("-n", ns, "addr", "add", "198.18.251.1/24", "dev", "l4dec0");
                    try (DatagramSocket sink = new DatagramSocket(new InetSocketAddress("198.18.251.1", 0))) {
                        GueDecapsulator decap = new GueDecapsulator(new InetSocketAddress("127.0.0.1", 0), tun);
                        Thread receiver = Thread.ofPlatform().name("decap-test").start(decap);
                        // Bursts of 100: more than one receive batch each, and no more than the sink's socket buffer
                        // holds until it is read (the kernel drops what does not fit, which is not the decapsulator).
                        int bursts = 3;
                        int burst = 100;
                        int count = bursts * burst;
                        sink.setSoTimeout(5000);
                        Set<String> got = new HashSet<>();
                        DatagramPacket in = new DatagramPacket(new byte[64], 64);
                        MemorySegment packet = arena.allocate(128);
                        for (int i = 0; i < count; i++) {
                            byte[] inner = TunTest.udp4("198.18.251.2", 4000, "198.18.251.1", sink.getLocalPort(),
                                "p" + i);
                            MemorySegment.copy(inner, 0, packet, ValueLayout.JAVA_BYTE, 0, inner.length);
                            Checksums.fillIpv4Header(packet, 0);
                            byte[] datagram = packet.asSlice(0, inner.length).toArray(ValueLayout.JAVA_BYTE);
                            sender.send(new DatagramPacket(datagram, datagram.length, decap.localAddress()));
                            if ((i + 1) % burst == 0) {
                                while (got.size() < i + 1) {
                                    sink.receive(in);
                                    got.add(new String(in.getData(), 0, in.getLength(), StandardCharsets.US_ASCII));
                                }
                            }
                        }
                        byte[] garbage = "not an IP packet".getBytes(StandardCharsets.US_ASCII);
                        sender.send(new DatagramPacket(garbage, garbage.length, decap.localAddress()));
                        sender.send(new DatagramPacket(new byte[0], 0, decap.localAddress()));
                        Await.until(Duration.ofSeconds(5), "the garbage counted",
                            () -> decap.refused() == 2 && decap.decapsulated() == count);

                        decap.close();
                        receiver.join(TimeUnit.SECONDS.toMillis(2));
                        assertFalse(receiver.isAlive(), "the receiving thread stops on close");
                        decap.close();   // a second close does nothing
                        assertEquals(count, decap.decapsulated());
                    }
                }
                return null;
            });
        } finally {
            TunTest.ip("netns", "del", ns);
        }
    }
}
