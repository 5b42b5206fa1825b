/**
 * Packet mode building blocks: a TUN device through Java's FFM API ({@link io.l4mesh.node.packet.Tun}) and
 * allocation-free header flyweights over {@link java.lang.foreign.MemorySegment}s
 * ({@link io.l4mesh.node.packet.PacketParser}). The DSR data plane that uses them is the packet-mode issue's work.
 *
 * <p>Threading: a {@code Tun} queue and a parser belong to one packet thread each.
 */
package io.l4mesh.node.packet;
