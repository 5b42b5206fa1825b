/**
 * Gossip membership for l4mesh nodes.
 *
 * <p>This module will wrap scalecube-cluster behind l4mesh's own small API (an immutable member view, a
 * listener, a way to publish this node's state) so that {@code node} never touches scalecube types. It knows
 * nothing of {@code node}. Filled by the mesh issue; until then a node runs alone.
 */
package io.l4mesh.membership;
