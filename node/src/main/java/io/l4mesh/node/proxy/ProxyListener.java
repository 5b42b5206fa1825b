package io.l4mesh.node.proxy;

import java.net.InetSocketAddress;

/** A bound listener of either protocol. Lifecycle methods are called by the control thread. */
public interface ProxyListener {
    /** Binds the socket(s); throws when the address is taken or not local. */
    void bind() throws Exception;

    /** Closes the listening socket(s). TCP: open connections continue. UDP: sessions end with the socket. */
    void stopAccepting();

    /** The address actually bound (resolves port 0), or null before {@link #bind}. */
    InetSocketAddress boundAddress();

    ListenerRuntime runtime();

    /**
     * The flows this listener carries now, whichever plane: open TCP connections or UDP sessions in proxy mode,
     * this node's flow-table entries in packet mode (what every view of flows counts).
     */
    default long activeFlows() {
        return runtime().activeFlows();
    }
}
