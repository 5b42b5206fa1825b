/**
 * The admin HTTP API (JSON, bound to 127.0.0.1 by default) and its client, used by the CLI.
 *
 * <p>Threading: the server has its own event loop; it hands every read or change to the node's control thread
 * and waits for the answer there, never on a data-path loop.
 */
package io.l4mesh.node.admin;
