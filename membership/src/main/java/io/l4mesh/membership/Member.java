package io.l4mesh.membership;

/**
 * A member of the mesh.
 *
 * @param id      unique per process incarnation (changes on restart)
 * @param nodeId  the node's configured, stable id
 * @param address gossip address, {@code host:port}
 */
public record Member(String id, String nodeId, String address) {
}
