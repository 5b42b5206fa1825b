package io.l4mesh.node.config;

/**
 * A listener in packet mode (DSR): the VIP's packets are routed into TUN queues and sent GUE-encapsulated to the
 * backends, which answer the client directly.
 *
 * @param tun       TUN device name (created by the node; needs CAP_NET_ADMIN)
 * @param queues    TUN queues, one packet thread each (0: one per core)
 * @param fabricMtu largest packet the path to the backends carries; a client packet that no longer fits with the
 *                  encapsulation's bytes (28 GUE, 50 VXLAN) is dropped, counted and answered with ICMP
 * @param flowTable the listener's flow table
 * @param offload   open the TUN device with {@code IFF_VNET_HDR} and TCP segmentation and checksum offloads, so the
 *                  kernel hands over TCP super-packets that the node cuts itself (falls back to plain reads where
 *                  the kernel refuses them)
 */
public record PacketConfig(String tun, int queues, int fabricMtu, FlowTableConfig flowTable, boolean offload) {
    public static final int DEFAULT_FABRIC_MTU = 1500;
}
