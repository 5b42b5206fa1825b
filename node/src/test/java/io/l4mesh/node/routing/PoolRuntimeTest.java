package io.l4mesh.node.routing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.l4mesh.hashring.HashAlgorithm;
import io.l4mesh.node.config.BackendConfig;
import io.l4mesh.node.config.EncapsulationConfig;
import io.l4mesh.node.config.HealthCheckConfig;
import io.l4mesh.node.config.HostPort;
import io.l4mesh.node.config.PoolConfig;
import io.l4mesh.node.config.ProxyProtocol;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A pool's changes: one rebuild per batch, and health reasons that say what holds now. */
class PoolRuntimeTest {
    /** Counts the snapshots a pool publishes. */
    static class Published implements PoolEvents {
        final List<RoutingSnapshot> snapshots = new ArrayList<>();

        @Override
        public void backendAdded(PoolRuntime pool, BackendRuntime backend) {
        }

        @Override
        public void backendRemoved(PoolRuntime pool, BackendRuntime backend) {
        }

        @Override
        public void healthChanged(PoolRuntime pool, BackendRuntime backend, Health health, String reason) {
        }

        @Override
        public void localHealthChanged(PoolRuntime pool, BackendRuntime backend, Health health, String reason) {
        }

        @Override
        public void snapshotPublished(PoolRuntime pool, RoutingSnapshot snapshot, long buildNanos) {
            snapshots.add(snapshot);
        }
    }

    private static BackendConfig backend(int i) {
        return new BackendConfig(new HostPort("127.0.0." + i, 80), 1, false);
    }

    private static PoolRuntime pool(Published events, int backends) throws PoolException {
        List<BackendConfig> list = new ArrayList<>();
        for (int i = 1; i <= backends; i++) {
            list.add(backend(i));
        }
        return new PoolRuntime(new PoolConfig("p", list, HealthCheckConfig.defaults(), Duration.ofSeconds(1),
            Duration.ofMinutes(1), 0, ProxyProtocol.NONE, EncapsulationConfig.gue()), 1009, HashAlgorithm.MAGLEV_V1,
            events);
    }

    @Test
    void aBatchOfChangesRebuildsOnce() throws Exception {
        Published events = new Published();
        PoolRuntime p = pool(events, 2);
        long before = p.rebuildCount();
        p.batch(() -> {
            for (int i = 3; i <= 7; i++) {
                p.add(backend(i));
            }
            p.weight("127.0.0.1:80", 5);
            p.draining("127.0.0.2:80", true);
            p.health("127.0.0.3:80", Health.DOWN, "test");
        });
        assertEquals(before + 1, p.rebuildCount(), "one rebuild for eight changes");
        assertEquals(7, p.snapshot().backends().size());
        assertEquals(5, p.snapshot().eligibleCount(), "7, less one draining, less one down");
        assertEquals(p.snapshot(), events.snapshots.get(events.snapshots.size() - 1), "published once, the last");

        p.batch(() -> p.health("127.0.0.3:80", Health.DOWN, "again"));
        assertEquals(before + 1, p.rebuildCount(), "nothing changed: no rebuild");
        // without a batch every change is its own rebuild (what the batch saves)
        p.add(backend(8));
        p.add(backend(9));
        assertEquals(before + 3, p.rebuildCount());
    }

    @Test
    void aBatchThatFailsHalfWayStillPublishesWhatChanged() throws Exception {
        Published events = new Published();
        PoolRuntime p = pool(events, 1);
        long before = p.rebuildCount();
        assertThrows(PoolException.class, () -> p.batch(() -> {
            p.add(backend(2));
            p.add(backend(2));     // already there
        }));
        assertEquals(before + 1, p.rebuildCount());
        assertEquals(2, p.snapshot().backends().size(), "the table matches the pool's backends");
    }

    @Test
    void theHealthReasonIsTheCurrentVerdictsEvenWhenTheVerdictStays() throws Exception {
        PoolRuntime p = pool(new Published(), 2);
        p.health("127.0.0.1:80", Health.UP, "mesh: down on 1 of 3 nodes");
        p.health("127.0.0.1:80", Health.UP, "mesh: down on 0 of 3 nodes");
        long before = p.rebuildCount();
        assertEquals("mesh: down on 0 of 3 nodes", p.find("127.0.0.1:80").healthReason());
        p.health("127.0.0.1:80", Health.UP, "mesh: down on 0 of 3 nodes");
        assertEquals(before, p.rebuildCount(), "a reason alone rebuilds nothing");
    }

    /** A pool on a clock the test steps, with the local transitions it reported. */
    private static final class Probed {
        final long[] now = {1_000_000_000L};
        final List<String> transitions = new ArrayList<>();
        final PoolRuntime pool;

        Probed() throws PoolException {
            Published events = new Published() {
                @Override
                public void localHealthChanged(PoolRuntime p, BackendRuntime b, Health health, String reason) {
                    transitions.add(health + " " + reason);
                }
            };
            pool = new PoolRuntime(new PoolConfig("p", List.of(backend(1)), HealthCheckConfig.defaults(),
                Duration.ofSeconds(1), Duration.ofMinutes(1), 0, ProxyProtocol.NONE, EncapsulationConfig.gue()),
                1009, HashAlgorithm.MAGLEV_V1, events, () -> now[0]);
        }

        void probes(boolean ok, int n) {
            for (int i = 0; i < n; i++) {
                now[0] += 2_000_000_000L;     // one interval
                pool.onProbe("127.0.0.1:80", ok, ok ? "ok" : "refused");
            }
        }

        Health local() {
            return pool.find("127.0.0.1:80").localHealth();
        }
    }

    @Test
    void probesGoDownAfterFallFailuresAndUpAfterRiseSuccesses() throws Exception {
        Probed p = new Probed();
        p.probes(false, HealthCheckConfig.DEFAULT_FALL - 1);
        assertEquals(Health.UP, p.local(), "fewer than fall failures keep it up");
        p.probes(true, 1);
        p.probes(false, HealthCheckConfig.DEFAULT_FALL - 1);
        assertEquals(Health.UP, p.local(), "a success in between starts the count again");
        p.probes(false, 1);
        assertEquals(Health.DOWN, p.local());
        p.probes(true, HealthCheckConfig.DEFAULT_RISE - 1);
        assertEquals(Health.DOWN, p.local(), "fewer than rise successes keep it down");
        p.probes(true, 1);
        assertEquals(Health.UP, p.local());
        assertEquals(List.of("DOWN probe: 3 failures (refused)", "UP probe: 2 successes"), p.transitions);
    }

    @Test
    void aFlappingBackendIsHeldDownUntilItsPenaltyDecays() throws Exception {
        Probed p = new Probed();
        for (int flap = 0; flap < 2; flap++) {      // two flaps: penalty 2000, not above the suppress limit
            p.probes(false, HealthCheckConfig.DEFAULT_FALL);
            p.probes(true, HealthCheckConfig.DEFAULT_RISE);
            assertEquals(Health.UP, p.local(), "flap " + (flap + 1) + " is not damped yet");
        }
        p.probes(false, HealthCheckConfig.DEFAULT_FALL);   // the third fall in a minute passes it
        p.probes(true, HealthCheckConfig.DEFAULT_RISE + 2);
        assertEquals(Health.DOWN, p.local(), "held down although every probe succeeds");
        assertTrue(p.pool.find("127.0.0.1:80").localReason().startsWith("damped: flapping"),
            p.pool.find("127.0.0.1:80").localReason());

        p.now[0] += 3 * FlapDamper.HALF_LIFE_NANOS;         // penalty below the reuse limit
        p.probes(true, HealthCheckConfig.DEFAULT_RISE);
        assertEquals(Health.UP, p.local());
    }

    @Test
    void passiveFailuresCountAsAFlapToo() throws Exception {
        Probed p = new Probed();
        for (int flap = 0; flap < 3; flap++) {
            p.pool.onPassiveFailures("127.0.0.1:80", HealthCheckConfig.DEFAULT_FALL);
            assertEquals(Health.DOWN, p.local());
            p.probes(true, HealthCheckConfig.DEFAULT_RISE);
        }
        assertEquals(Health.DOWN, p.local(), "three passive falls in a short time: damped");
        p.pool.onPassiveFailures("127.0.0.1:80", HealthCheckConfig.DEFAULT_FALL - 1);
        p.now[0] += 3 * FlapDamper.HALF_LIFE_NANOS;
        p.probes(true, HealthCheckConfig.DEFAULT_RISE);
        assertEquals(Health.UP, p.local(), "fewer than fall failed connects mark nothing");
    }
}
