package io.l4mesh.chaos.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SpreadTest {
    @Test
    void medianOfOddAndEvenRoundsAndTheRange() {
        Spread odd = Spread.of(List.of(12.0, 10.0, 30.0));
        assertEquals(12.0, odd.median());
        assertEquals(10.0, odd.min());
        assertEquals(30.0, odd.max());
        assertEquals(List.of(12.0, 10.0, 30.0), odd.rounds(), "rounds kept in the order they ran");
        assertEquals(11.0, Spread.of(List.of(12.0, 10.0)).median());
        assertEquals("12 (10-30)", odd.format("%.0f"));
        assertEquals("12", Spread.of(List.of(12.0)).format("%.0f"), "one round has no range");
    }

    @Test
    void aRoundWithoutTheFigureIsLeftOut() {
        Spread s = Spread.of(List.of(Double.NaN, 4.0, 6.0));
        assertEquals(5.0, s.median());
        assertTrue(Double.isNaN(Spread.of(List.of(Double.NaN)).median()));
        assertEquals("-", Spread.of(List.of(Double.NaN)).format("%.2f"));
    }

    @Test
    void ratiosCompareMediansToTheBestPeerAndOneOutlierRoundDoesNotDecide() {
        Map<String, List<ProxyBench.Result>> rounds = new LinkedHashMap<>();
        rounds.put("l4mesh", List.of(new ProxyBench.Result("l4mesh", 10, 1000, 5000, 2.0),
            new ProxyBench.Result("l4mesh", 10, 100, 5000, 2.0),     // one noisy round
            new ProxyBench.Result("l4mesh", 10, 1000, 5000, 2.0)));
        rounds.put("haproxy", List.of(new ProxyBench.Result("haproxy", 8, 800, 4000, 1.0),
            new ProxyBench.Result("haproxy", 8, 800, 4000, 1.0), new ProxyBench.Result("haproxy", 8, 800, 4000, 1.0)));
        rounds.put("nginx", List.of(new ProxyBench.Result("nginx", 5, 900, 6000, 4.0),
            new ProxyBench.Result("nginx", 5, 900, 6000, 4.0), new ProxyBench.Result("nginx", 5, 900, 6000, 4.0)));
        Map<String, Double> r = ProxyBench.ratios(ProxyBench.summarise(rounds));
        assertEquals(10.0 / 8, r.get("throughput"), 1e-9);
        assertEquals(1000.0 / 900, r.get("connectionsPerSecond"), 1e-9);
        assertEquals(5000.0 / 6000, r.get("requestsPerSecond"), 1e-9);
        assertEquals(1.0 / 2.0, r.get("p99Latency"), 1e-9, "latency: the best peer's over ours");
        assertTrue(ProxyBench.ratios(ProxyBench.summarise(Map.of("direct", rounds.get("nginx")))).isEmpty());
    }

    @Test
    void aSmallRatioKeepsItsSignificantDigits() {
        assertEquals(0.00396, Spread.ratio(0.25 / 63.15));
        assertEquals(1.33, Spread.ratio(1.3271));
        assertEquals(0.0, Spread.ratio(0.0));
    }
}
