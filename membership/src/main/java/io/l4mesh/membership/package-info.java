/**
 * Gossip membership for l4mesh nodes, on scalecube-cluster, behind l4mesh's own small API: {@link
 * io.l4mesh.membership.Membership} (start, publish, broadcast, send, leave), an immutable {@link
 * io.l4mesh.membership.MemberView} and a {@link io.l4mesh.membership.MembershipListener}. No scalecube type appears in
 * this API, and this module knows nothing of {@code node}.
 *
 * <p>Security: every frame between members is authenticated with HMAC-SHA256 under the cluster key and carries a
 * timestamp and a nonce (replays are refused); message bodies are written by a strict binary codec that only knows
 * an allow-list of scalecube's protocol classes and never runs Java deserialization. See {@link
 * io.l4mesh.membership.codec.AuthenticatedMessageCodec}.
 */
package io.l4mesh.membership;
