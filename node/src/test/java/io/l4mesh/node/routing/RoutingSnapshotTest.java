package io.l4mesh.node.routing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.l4mesh.hashring.HashAlgorithm;
import io.l4mesh.node.config.HostPort;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A snapshot's flow-id index: what the packet path uses to find a flow's recorded backend. */
class RoutingSnapshotTest {
    private static BackendRuntime backend(String ip) {
        return new BackendRuntime(ip + ":80", new HostPort(ip, 80), new InetSocketAddress(ip, 80), 1, false);
    }

    @Test
    void findsEveryBackendByFlowIdAndNothingElse() {
        List<BackendRuntime> list = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            list.add(backend("10.0." + (i / 250) + "." + (i % 250 + 1)));
        }
        list.sort((a, b) -> a.id().compareTo(b.id()));
        RoutingSnapshot s = new RoutingSnapshot(1, list, 10_007, HashAlgorithm.MAGLEV_V1);
        assertEquals(0, s.flowIdCollisions());
        for (int i = 0; i < list.size(); i++) {
            assertEquals(i, s.indexOfFlowId(list.get(i).flowId()));
        }
        assertEquals(-1, s.indexOfFlowId(BackendRuntime.flowId("10.9.9.9:80")));
    }

    @Test
    void collidingFlowIdsAreCountedAndTheFirstBackendKeepsTheId() {
        Map<Integer, String> seen = new HashMap<>();
        String[] pair = null;
        for (int i = 0; pair == null; i++) {
            String ip = "10." + (i >>> 16 & 0xFF) + "." + (i >>> 8 & 0xFF) + "." + (i & 0xFF);
            String other = seen.put(BackendRuntime.flowId(ip + ":80"), ip);
            if (other != null) {
                pair = new String[] {other, ip};
            }
        }
        List<BackendRuntime> list = new ArrayList<>(List.of(backend(pair[0]), backend(pair[1])));
        list.sort((a, b) -> a.id().compareTo(b.id()));
        RoutingSnapshot s = new RoutingSnapshot(1, list, 101, HashAlgorithm.MAGLEV_V1);
        assertEquals(1, s.flowIdCollisions());
        assertEquals(0, s.indexOfFlowId(list.get(0).flowId()));
    }
}
