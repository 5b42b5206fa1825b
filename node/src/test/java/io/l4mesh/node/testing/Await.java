package io.l4mesh.node.testing;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Waits on a condition with a deadline, never a fixed sleep (Aeron's {@code Tests.await...}). */
public final class Await {
    private Await() {
    }

    /** Polls {@code condition} every 10 ms until it holds, failing with {@code what} after {@code timeout}. */
    public static void until(Duration timeout, String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout.toMillis() + " ms waiting for: " + what);
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting for: " + what);
            }
        }
    }

    /** Milliseconds until {@code condition} holds (fails after {@code timeout}). */
    public static long millisUntil(Duration timeout, String what, BooleanSupplier condition) {
        long start = System.nanoTime();
        until(timeout, what, condition);
        return (System.nanoTime() - start) / 1_000_000;
    }
}
