package io.l4mesh.node.config;

/** The I/O transport. AUTO picks epoll on Linux, kqueue on macOS and NIO elsewhere; IO_URING only when asked. */
public enum TransportKind {
    AUTO, EPOLL, IO_URING, KQUEUE, NIO
}
