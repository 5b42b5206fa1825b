package io.l4mesh.node.packet;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * What the raw sockets of the packet path share: the descriptor, the errno capture segment, batched sends and
 * closing.
 *
 * <p>Threading: one thread per socket (the errno segment is reused).
 */
abstract class RawSocket implements AutoCloseable {
    final int fd;
    final Arena arena = Arena.ofShared();
    final MemorySegment state = Libc.callState(arena);

    RawSocket(int fd) {
        this.fd = fd;
    }

    /**
     * Sends every packet queued in {@code batch} (built for this socket's family) in one {@code sendmmsg} and empties
     * it.
     *
     * @return packets the kernel refused
     */
    public int sendBatch(SendBatch batch) throws IOException {
        return batch.send(state, fd);
    }

    /** Sends the packets queued at {@code [from, to)} of {@code batch}; the batch keeps them. */
    int sendBatch(SendBatch batch, int from, int to) throws IOException {
        return batch.send(state, fd, from, to);
    }

    @Override
    public void close() {
        try {
            int ignored = (int) Libc.CLOSE.invokeExact(state, fd);
        } catch (Throwable ignored) {
            // Nothing useful to do about a failed close.
        }
        arena.close();
    }
}
