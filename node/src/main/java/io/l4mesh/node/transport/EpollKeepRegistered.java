package io.l4mesh.node.transport;

import io.netty.channel.IoHandle;
import io.netty.channel.IoHandler;
import io.netty.channel.IoHandlerContext;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.IoOps;
import io.netty.channel.IoRegistration;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollIoOps;

/**
 * Netty's epoll handler (4.2.18) with one change: a socket stays in epoll while its channel is open.
 *
 * <p>Netty removes a socket from epoll ({@code EPOLL_CTL_DEL}) when its channel's interest set becomes empty, but
 * keeps the registration marked as added, so the channel's next interest ({@code EPOLL_CTL_MOD}) fails with ENOENT.
 * A half-closed TCP connection meets exactly that: once a side's FIN is read Netty stops watching that socket's
 * input, and when the other direction later fills the socket's send buffer, the write needs EPOLLOUT, the change
 * fails and Netty shuts the output, dropping what was queued (a download after the client's half-close was cut
 * at about 4 MB). Here an empty interest set becomes {@code EPOLLET} alone: the socket stays in epoll, and the
 * error and hang-up conditions that epoll always reports come once, as an edge, instead of on every wait (which
 * is why Netty removes the socket). The channel's close removes it as before, without a failing second removal.
 *
 * <p>Threading: the handler runs on its event loop; a registration's {@link IoRegistration#submit} is serialised
 * as Netty's own is.
 */
final class EpollKeepRegistered implements IoHandler {
    private final IoHandler epoll;

    private EpollKeepRegistered(IoHandler epoll) {
        this.epoll = epoll;
    }

    static IoHandlerFactory factory() {
        IoHandlerFactory epoll = EpollIoHandler.newFactory();
        return executor -> new EpollKeepRegistered(epoll.newHandler(executor));
    }

    @Override
    public IoRegistration register(IoHandle handle) throws Exception {
        return new Registration(epoll.register(handle));
    }

    @Override
    public void initialize() {
        epoll.initialize();
    }

    @Override
    public int run(IoHandlerContext context) {
        return epoll.run(context);
    }

    @Override
    public void prepareToDestroy() {
        epoll.prepareToDestroy();
    }

    @Override
    public void destroy() {
        epoll.destroy();
    }

    @Override
    public void wakeup() {
        epoll.wakeup();
    }

    @Override
    public boolean isCompatible(Class<? extends IoHandle> handleType) {
        return epoll.isCompatible(handleType);
    }

    private static final class Registration implements IoRegistration {
        private final IoRegistration epoll;
        /** An interest set went to epoll, so the socket is in it: an empty set must not take it out. */
        private boolean added;

        Registration(IoRegistration epoll) {
            this.epoll = epoll;
        }

        @Override
        public synchronized long submit(IoOps ops) {
            boolean empty = ((EpollIoOps) ops).value() == 0;
            if (empty && added) {
                return epoll.submit(EpollIoOps.EPOLLET);
            }
            added |= !empty;
            return epoll.submit(ops);
        }

        @Override
        public <T> T attachment() {
            return epoll.attachment();
        }

        @Override
        public boolean isValid() {
            return epoll.isValid();
        }

        @Override
        public boolean cancel() {
            return epoll.cancel();
        }
    }
}
