package io.l4mesh.node.packet;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * Runs code inside a named network namespace ({@code /var/run/netns/NAME}, as {@code ip netns add} makes) on a
 * thread of its own: the thread {@code setns()}es into the namespace first, so TUN devices and sockets it creates
 * live there. Used by the lab and by tests; needs CAP_SYS_ADMIN.
 */
public final class NetNamespace {
    private NetNamespace() {
    }

    /** Runs {@code task} on a new thread inside namespace {@code name} and returns its result. */
    public static <T> T call(String name, Callable<T> task) throws Exception {
        CompletableFuture<T> result = new CompletableFuture<>();
        Thread t = Thread.ofPlatform().name("netns-" + name).daemon().start(() -> {
            try {
                enter(name);
                result.complete(task.call());
            } catch (Throwable e) {
                result.completeExceptionally(e);
            }
        });
        try {
            return result.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception ex) {
                throw ex;
            }
            throw e;
        } finally {
            t.join();
        }
    }

    /**
     * A thread that lives in namespace {@code name} and runs the tasks given to it there, one at a time: cheaper than
     * {@link #call} when many short tasks (admin API calls, opening sockets) go to the same namespace. A socket keeps
     * the namespace it was created in, so a channel opened here may be used from any thread afterwards.
     */
    public static final class Pinned implements AutoCloseable {
        private final String name;
        private final java.util.concurrent.ExecutorService thread;
        private final ThreadLocal<Boolean> entered = ThreadLocal.withInitial(() -> false);

        public Pinned(String name) {
            this.name = name;
            this.thread = java.util.concurrent.Executors.newSingleThreadExecutor(
                r -> Thread.ofPlatform().name("netns-" + name).daemon().unstarted(r));
        }

        /** Runs {@code task} in the namespace and returns its result (or throws its exception). */
        public <T> T call(Callable<T> task) throws Exception {
            java.util.concurrent.Future<T> f = thread.submit(() -> {
                if (!entered.get()) {
                    enter(name);      // throws (failing only this task) when the namespace is gone
                    entered.set(true);
                }
                return task.call();
            });
            try {
                return f.get();
            } catch (ExecutionException e) {
                if (e.getCause() instanceof Exception ex) {
                    throw ex;
                }
                throw e;
            }
        }

        public String name() {
            return name;
        }

        @Override
        public void close() {
            thread.shutdownNow();
        }
    }

    /** Moves the calling thread into namespace {@code name}; the thread should end afterwards. */
    static void enter(String name) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = Libc.callState(a);
            int fd = (int) Libc.OPEN.invokeExact(st, a.allocateFrom("/var/run/netns/" + name),
                Libc.O_CLOEXEC, 0);
            if (fd < 0) {
                throw new IOException("open netns " + name + ": " + Libc.strerror(Libc.errno(st)));
            }
            int rc = (int) Libc.SETNS.invokeExact(st, fd, Libc.CLONE_NEWNET);
            int err = Libc.errno(st);
            int ignored = (int) Libc.CLOSE.invokeExact(st, fd);
            if (rc < 0) {
                throw new IOException("setns " + name + ": " + Libc.strerror(err));
            }
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("setns " + name + ": " + t, t);
        }
    }
}
