package io.l4mesh.chaos.fault;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import org.junit.jupiter.api.Test;

/**
 * The Toxiproxy driver where there is no Toxiproxy: a URL nobody answers, a malformed one, and no Docker engine for
 * Testcontainers each give one line saying why, and no driver (the suite then uses netcrusher). With a server or
 * Docker it would connect; neither exists on this machine.
 */
class ToxiproxyDriverTest {
    @Test
    void noServerAtTheUrlIsOneLine() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closed = s.getLocalPort();
        }
        ToxiproxyDriver.Connection c = ToxiproxyDriver.connect("http://127.0.0.1:" + closed);
        assertNull(c.driver());
        assertTrue(c.unavailable().startsWith("no Toxiproxy server answers at http://127.0.0.1:" + closed),
            c.unavailable());
        assertTrue(!c.unavailable().contains("\n"));
    }

    @Test
    void aMalformedUrlIsOneLine() {
        ToxiproxyDriver.Connection c = ToxiproxyDriver.connect("toxiproxy");
        assertNull(c.driver());
        assertTrue(c.unavailable().startsWith("--toxiproxy wants http://HOST:PORT"), c.unavailable());
    }

    @Test
    void withoutAUrlItNeedsDocker() {
        String docker = ToxiproxyDriver.dockerUnavailable();
        if (docker == null) {
            return;   // a machine with Docker: the container path applies there
        }
        ToxiproxyDriver.Connection c = ToxiproxyDriver.connect(null);
        assertNull(c.driver());
        assertTrue(c.unavailable().contains("no Docker engine") && c.unavailable().contains("--toxiproxy"),
            c.unavailable());
    }
}
