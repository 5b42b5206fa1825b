/** Choice of Netty transport (epoll, kqueue, NIO) and event loop groups. */
package io.l4mesh.node.transport;
