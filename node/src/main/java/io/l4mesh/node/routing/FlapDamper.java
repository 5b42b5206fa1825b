package io.l4mesh.node.routing;

/**
 * Route-flap damping (RFC 2439) for a backend's health as this node observes it: each fall to DOWN adds a penalty
 * that halves every {@link #HALF_LIFE_NANOS}; once it passes {@link #SUPPRESS} the backend is held DOWN (even when
 * probes succeed) until the penalty decays below {@link #REUSE}. One flap costs nothing; a backend that flaps
 * repeatedly stays out for an exponentially growing time, so Maglev tables do not churn with it.
 *
 * <p>Threading: the control thread's; time comes from the caller.
 */
final class FlapDamper {
    static final double PENALTY = 1000;
    static final double SUPPRESS = 2000;
    static final double REUSE = 750;
    static final double MAX_PENALTY = 6000;
    static final long HALF_LIFE_NANOS = 15_000_000_000L;

    private double penalty;
    private long updatedNanos;
    private boolean suppressed;

    /** A fall to DOWN at {@code now}. */
    void down(long now) {
        penalty = Math.min(MAX_PENALTY, decayed(now) + PENALTY);
        updatedNanos = now;
        if (penalty > SUPPRESS) {
            suppressed = true;
        }
    }

    /** Whether a rise to UP at {@code now} must still be held back. */
    boolean holdDown(long now) {
        double p = decayed(now);
        if (suppressed && p < REUSE) {
            suppressed = false;
        }
        return suppressed;
    }

    double penalty(long now) {
        return decayed(now);
    }

    private double decayed(long now) {
        if (penalty == 0) {
            return 0;
        }
        return penalty * Math.pow(0.5, (double) (now - updatedNanos) / HALF_LIFE_NANOS);
    }
}
