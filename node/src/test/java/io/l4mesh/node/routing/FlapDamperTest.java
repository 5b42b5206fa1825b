package io.l4mesh.node.routing;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class FlapDamperTest {
    private static final long S = 1_000_000_000L;

    @Test
    void oneFlapIsFreeRepeatedFlapsAreHeldDownUntilThePenaltyDecays() {
        FlapDamper d = new FlapDamper();
        d.down(0);
        assertFalse(d.holdDown(5 * S), "a single fall does not suppress");
        d.down(6 * S);
        d.down(7 * S);
        assertTrue(d.holdDown(8 * S), "three falls in seconds suppress");
        assertTrue(d.holdDown(20 * S), "still held while the penalty is above the reuse limit");
        long t = 8 * S;
        while (d.holdDown(t)) {
            t += S;
        }
        double heldSeconds = (t - 7 * S) / (double) S;
        assertTrue(heldSeconds > 20 && heldSeconds < 40, "held about two half-lives: " + heldSeconds);
        assertFalse(d.holdDown(t + 3600 * S));
    }
}
