package io.l4mesh.node.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.l4mesh.node.Node;
import io.l4mesh.node.testing.Await;
import io.l4mesh.node.testing.Clients;
import io.l4mesh.node.testing.TcpTestServer;
import io.l4mesh.node.testing.TestNodes;
import java.io.DataInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * PROXY protocol toward backends: a backend parses the header byte by byte (independently of the encoder) and
 * checks that it names the real client and listener, then echoes the payload that follows it.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ProxyProtocolTest {
    /** What the backend parsed: source and destination address and port. */
    record Parsed(String src, String dst, int srcPort, int dstPort) {
    }

    private static final byte[] SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

    private static Parsed parseV2(DataInputStream in) throws IOException {
        byte[] sig = in.readNBytes(12);
        assertArrayEquals(SIGNATURE, sig, "v2 signature");
        assertEquals(0x21, in.readUnsignedByte(), "version 2, command PROXY");
        int famProto = in.readUnsignedByte();
        int len = in.readUnsignedShort();
        int addrLen = famProto == 0x11 ? 4 : 16;
        assertEquals(famProto == 0x11 ? 12 : 36, len, "address block length");
        InetAddress src = InetAddress.getByAddress(in.readNBytes(addrLen));
        InetAddress dst = InetAddress.getByAddress(in.readNBytes(addrLen));
        return new Parsed(src.getHostAddress(), dst.getHostAddress(), in.readUnsignedShort(), in.readUnsignedShort());
    }

    private static Parsed parseV1(DataInputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        int c;
        while ((c = in.read()) != '\n') {
            line.append((char) c);
        }
        String l = line.toString();
        assertEquals('\r', l.charAt(l.length() - 1), "v1 line ends in CRLF");
        String[] f = l.strip().split(" ");
        assertEquals("PROXY", f[0]);
        assertEquals("TCP4", f[1]);
        return new Parsed(f[2], f[3], Integer.parseInt(f[4]), Integer.parseInt(f[5]));
    }

    private void check(String version) throws Exception {
        AtomicReference<Parsed> parsed = new AtomicReference<>();
        try (TcpTestServer backend = new TcpTestServer("pp", (s, srv) -> {
            DataInputStream in = new DataInputStream(s.getInputStream());
            parsed.set(version.equals("v2") ? parseV2(in) : parseV1(in));
            byte[] payload = in.readAllBytes();
            s.getOutputStream().write(payload);
            s.shutdownOutput();
        }); Node node = TestNodes.start("""
            admin: {bind: 127.0.0.1:0}
            listeners: [{name: t, bind: 127.0.0.1:0, pool: p}]
            pools: {p: {backends: [%s], proxyProtocol: %s}}
            """.formatted(backend.address(), version))) {
            InetSocketAddress listener = node.listenerAddress("t");
            try (Socket c = new Socket()) {
                c.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.9"), 0));
                c.connect(listener, 2000);
                c.setSoTimeout(5000);
                c.getOutputStream().write("payload after the header".getBytes(StandardCharsets.UTF_8));
                c.shutdownOutput();
                assertEquals("payload after the header",
                    new String(c.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
                Await.until(Duration.ofSeconds(5), "header parsed", () -> parsed.get() != null);
                assertEquals(new Parsed("127.0.0.9", "127.0.0.1", c.getLocalPort(), listener.getPort()), parsed.get());
            }
        }
    }

    @Test
    void v2HeaderCarriesTheClientAddress() throws Exception {
        check("v2");
    }

    @Test
    void v1HeaderCarriesTheClientAddress() throws Exception {
        check("v1");
    }

    @Test
    void withoutProxyProtocolTheBackendSeesOnlyPayload() throws Exception {
        try (TcpTestServer backend = TcpTestServer.echo("plain"); Node node = TestNodes.start("""
            admin: {bind: 127.0.0.1:0}
            listeners: [{name: t, bind: 127.0.0.1:0, pool: p}]
            pools: {p: {backends: [%s]}}
            """.formatted(backend.address()))) {
            try (Socket c = Clients.connect(node.listenerAddress("t"))) {
                c.getOutputStream().write("abc".getBytes(StandardCharsets.UTF_8));
                c.shutdownOutput();
                assertEquals("abc", new String(c.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            }
        }
    }
}
