package io.l4mesh.node.packet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteOrder;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The announcer's verdict and its reconciliation of the routes, with a table of routes standing in for the kernel. */
class VipAnnouncerTest {
    static final VipAnnouncer.Vip VIP = new VipAnnouncer.Vip("198.18.100.1", "l4mvip");
    static final VipAnnouncer.Vip VIP6 = new VipAnnouncer.Vip("fd00:100::1", "l4mvip6");

    /** Routes in a set; devices that exist in another. */
    static final class FakeRoutes implements VipAnnouncer.Routes {
        final Set<String> routes = new HashSet<>();
        final Set<String> devices = new HashSet<>(Set.of("l4mvip", "l4mvip6"));

        @Override
        public boolean present(VipAnnouncer.Vip v) {
            return routes.contains(v.prefix());
        }

        @Override
        public boolean add(VipAnnouncer.Vip v) {
            return devices.contains(v.device()) && routes.add(v.prefix());
        }

        @Override
        public void remove(VipAnnouncer.Vip v) {
            routes.remove(v.prefix());
        }
    }

    @Test
    void withdrawsAfterFallFailuresAndRestoresOnTheFirstSuccess() {
        FakeRoutes r = new FakeRoutes();
        VipAnnouncer a = new VipAnnouncer(List.of(VIP, VIP6), 3, r);
        assertEquals(VipAnnouncer.Action.RESTORED, a.poll(true));
        assertEquals(Set.of("198.18.100.1/32", "fd00:100::1/128"), r.routes);
        assertEquals(VipAnnouncer.Action.NONE, a.poll(false));
        assertEquals(VipAnnouncer.Action.NONE, a.poll(false));
        assertEquals(2, r.routes.size(), "two failures are not yet a verdict");
        assertEquals(VipAnnouncer.Action.WITHDREW, a.poll(false));
        assertEquals(Set.of(), r.routes);
        assertEquals(VipAnnouncer.Action.NONE, a.poll(false), "each change is reported once");
        assertEquals(VipAnnouncer.Action.RESTORED, a.poll(true));
        assertEquals(2, r.routes.size());
    }

    /**
     * A draining node removes its VIP route itself the moment it gets SIGTERM, while the announcer still counts it
     * healthy (its first failed polls are no verdict yet). The announcer must not put the route back: the chaos
     * suite saw the router send traffic to a draining node that way.
     */
    @Test
    void aRouteTheNodeWithdrewItselfStaysAwayWhileTheFailuresAddUp() {
        FakeRoutes r = new FakeRoutes();
        VipAnnouncer a = new VipAnnouncer(List.of(VIP), 3, r);
        assertEquals(VipAnnouncer.Action.RESTORED, a.poll(true));
        r.routes.clear();                                   // the node withdrew (SIGTERM)
        assertEquals(VipAnnouncer.Action.NONE, a.poll(false));
        assertEquals(Set.of(), r.routes, "not put back after one failure");
        assertEquals(VipAnnouncer.Action.NONE, a.poll(false));
        assertEquals(VipAnnouncer.Action.NONE, a.poll(false));
        assertEquals(Set.of(), r.routes);
        assertTrue(!a.announced());
    }

    /**
     * The race: the node adds its VIP route itself when it becomes ready; the announcer has not yet seen it healthy
     * (its first polls failed while the node started) when the node fails its self-check. The route must go.
     */
    @Test
    void withdrawsARouteTheNodeAddedBeforeTheAnnouncerEverSawItHealthy() {
        FakeRoutes r = new FakeRoutes();
        VipAnnouncer a = new VipAnnouncer(List.of(VIP), 3, r);
        for (int i = 0; i < 5; i++) {
            a.poll(false);                 // the node is still starting
        }
        assertFalse(a.announced());
        r.routes.add(VIP.prefix());        // ready: the node routes its VIP on its own
        assertEquals(VipAnnouncer.Action.WITHDREW, a.poll(false), "the node failed before any poll succeeded");
        assertEquals(Set.of(), r.routes);
    }

    @Test
    void aMissingDeviceIsRetriedOnTheNextPoll() {
        FakeRoutes r = new FakeRoutes();
        r.devices.clear();
        VipAnnouncer a = new VipAnnouncer(List.of(VIP), 1, r);
        assertEquals(VipAnnouncer.Action.NONE, a.poll(true), "no device, no route yet");
        assertTrue(a.announced());
        r.devices.add("l4mvip");
        assertEquals(VipAnnouncer.Action.RESTORED, a.poll(true));
        assertEquals(Set.of(VIP.prefix()), r.routes);
    }

    @Test
    void readsHostRoutesFromProcFiles() throws Exception {
        // 198.18.100.1 as the kernel prints it: the address word in native order
        int be = (198 << 24) | (18 << 16) | (100 << 8) | 1;
        String word = String.format("%08X", ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN
            ? Integer.reverseBytes(be) : be);
        List<String> v4 = List.of("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT",
            "eth0\t00000000\t0112A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0",
            "l4mvip\t" + word + "\t00000000\t0005\t0\t0\t0\tFFFFFFFF\t0\t0\t0");
        assertTrue(VipAnnouncer.hasIpv4Route(v4, VIP));
        assertFalse(VipAnnouncer.hasIpv4Route(v4.subList(0, 2), VIP));
        List<String> v6 = List.of("fd000100000000000000000000000001 80 00000000000000000000000000000000 00 "
            + "00000000000000000000000000000000 00000400 00000001 00000000 00000001 l4mvip6");
        assertTrue(VipAnnouncer.hasIpv6Route(v6, VIP6));
        assertFalse(VipAnnouncer.hasIpv6Route(List.of(), VIP6));
    }
}
