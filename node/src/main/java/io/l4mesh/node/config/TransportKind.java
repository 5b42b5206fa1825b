package io.l4mesh.node.config;

/** The I/O transport. AUTO picks epoll on Linux, kqueue on macOS and NIO elsewhere. */
public enum TransportKind {
    AUTO, EPOLL, KQUEUE, NIO
}
