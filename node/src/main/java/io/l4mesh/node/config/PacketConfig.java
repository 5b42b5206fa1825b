package io.l4mesh.node.config;

/**
 * A listener in packet mode (DSR): the VIP's packets are routed into TUN queues and sent GUE-encapsulated to the
 * backends, which answer the client directly.
 *
 * @param tun       TUN device name (created by the node; needs CAP_NET_ADMIN)
 * @param queues    TUN queues, one packet thread each (0: one per core)
 * @param guePort   UDP port backends receive GUE on
 * @param fabricMtu largest packet the path to the backends carries; a client packet that no longer fits with 28
 *                  bytes of GUE is dropped and counted
 */
public record PacketConfig(String tun, int queues, int guePort, int fabricMtu) {
    public static final int DEFAULT_GUE_PORT = 6080;
    public static final int DEFAULT_FABRIC_MTU = 1500;
}
