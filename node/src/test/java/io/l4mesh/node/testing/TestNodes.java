package io.l4mesh.node.testing;

import io.l4mesh.node.Node;
import io.l4mesh.node.config.ConfigLoader;
import java.net.InetSocketAddress;

/** Starts nodes from YAML text for tests (admin and listeners on port 0 unless the YAML says otherwise). */
public final class TestNodes {
    private TestNodes() {
    }

    public static Node start(String yaml) throws Exception {
        return Node.start(ConfigLoader.parse(yaml, null));
    }

    /** The bound address of a listener. */
    public static InetSocketAddress address(Node node, String listener) throws Exception {
        return node.listenerAddress(listener);
    }

    /** {@code host:port} of the node's admin API. */
    public static String admin(Node node) {
        InetSocketAddress a = node.adminAddress();
        return a.getAddress().getHostAddress() + ":" + a.getPort();
    }
}
