package io.l4mesh.node.packet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.BindException;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** UDP GSO through the kernel on loopback (no root needed): one send arrives as its datagrams. */
class UdpGsoTest {
    private static final int LOOPBACK = 0x7F000001;

    @Test
    void oneSendArrivesAsItsDatagramsInOrder() throws Exception {
        try (UdpGso gso = new UdpGso(); DatagramChannel rx = DatagramChannel.open()) {
            rx.bind(new InetSocketAddress("127.0.0.1", 0));
            int port = ((InetSocketAddress) rx.getLocalAddress()).getPort();
            int fd = gso.socketFor(freePort(), 4);
            assertTrue(fd >= 0, "a free port is bound");
            MemorySegment out = gso.payload();
            byte[] all = new byte[340];
            for (int i = 0; i < all.length; i++) {
                all[i] = (byte) (i / 100 + 1);     // each datagram its own byte
            }
            MemorySegment.copy(all, 0, out, ValueLayout.JAVA_BYTE, 0, all.length);
            assertTrue(gso.send(fd, all.length, 100, LOOPBACK, port), "the kernel took the send");
            rx.socket().setSoTimeout(2000);
            ByteBuffer buf = ByteBuffer.allocate(2000);
            for (int k = 0; k < 4; k++) {
                buf.clear();
                rx.receive(buf);
                buf.flip();
                byte[] got = new byte[buf.remaining()];
                buf.get(got);
                assertEquals(k < 3 ? 100 : 40, got.length, "datagram " + k);
                assertArrayEquals(Arrays.copyOfRange(all, k * 100, k * 100 + got.length), got, "datagram " + k);
            }
        }
    }

    @Test
    void aTakenPortIsLeftAloneAndAShortRunBindsNothing() throws Exception {
        try (UdpGso gso = new UdpGso(); DatagramSocket taken = new DatagramSocket(new InetSocketAddress(0))) {
            assertEquals(-1, gso.socketFor(taken.getLocalPort(), 32), "a port another socket holds is not joined");
            int free = freePort();
            assertEquals(-1, gso.socketFor(free, 2), "a run of 2 does not pay for a bind");
            int fd = gso.socketFor(free, 4);
            assertTrue(fd >= 0);
            assertEquals(fd, gso.socketFor(free, 2), "a bound port serves short runs too");
            assertThrows(BindException.class, () -> new DatagramSocket(new InetSocketAddress(free)).close(),
                "while l4mesh holds a port, nobody else binds it");
        }
    }

    private static int freePort() throws Exception {
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(0))) {
            return s.getLocalPort();
        }
    }
}
