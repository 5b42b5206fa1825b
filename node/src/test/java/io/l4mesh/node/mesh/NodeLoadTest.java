package io.l4mesh.node.mesh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The gossiped load message: a round trip, and every malformed form refused (the mesh counts and drops it). */
class NodeLoadTest {
    private static final NodeLoad LOAD = new NodeLoad("n1", 1_796_000_000_000L, "serving", 3, 2, 1234, 56789, 42);

    @Test
    void roundTrips() throws IOException {
        assertEquals(LOAD, NodeLoad.decode(LOAD.encode()));
    }

    @Test
    void malformedMessagesAreRefused() {
        byte[] good = LOAD.encode();
        assertThrows(IOException.class, () -> NodeLoad.decode(Arrays.copyOf(good, good.length - 1)), "truncated");
        assertThrows(IOException.class, () -> NodeLoad.decode(Arrays.copyOf(good, good.length + 1)), "trailing bytes");
        byte[] version = good.clone();
        version[0] = 9;
        assertThrows(IOException.class, () -> NodeLoad.decode(version), "unknown version");
        byte[] state = good.clone();
        state[1 + 2 + 2 + 8] = 7;     // version, UTF length and "n1", atMs: then the state byte
        assertThrows(IOException.class, () -> NodeLoad.decode(state), "unknown state");
        assertThrows(IOException.class, () -> NodeLoad.decode(tooMany()), "more VIPs announced than it has");
    }

    private static byte[] tooMany() {
        byte[] b = new NodeLoad("n1", 1, "serving", 1, 1, 0, 0, 0).encode();
        b[1 + 2 + 2 + 8 + 1 + 1] = 0;       // vips = 0 while announced = 1
        return b;
    }
}
