package io.l4mesh.chaos.report;

import io.l4mesh.chaos.check.Invariant;
import java.util.List;
import java.util.Map;

/**
 * Everything one scenario's run produced, as {@code report.json} holds it.
 *
 * @param verdict        {@code pass}, {@code fail} (an invariant did not hold, or the run could not finish) or
 *                       {@code skipped}
 * @param reason         why it failed or was skipped (one line), or null
 * @param figures        measured values worth a table (withdrawal time, flows adopted, ...)
 * @param newConnections per second of the run: {@code [second, attempts, succeeded]}
 */
public record ScenarioResult(String name, String summary, String target, String verdict, String reason,
                             long startEpochMs, long durationMs, List<Event> events, List<Invariant> invariants,
                             Map<String, Object> figures, List<Sample> timeline, List<long[]> newConnections,
                             String logs) {
    public static ScenarioResult skipped(String name, String summary, String target, String reason) {
        return new ScenarioResult(name, summary, target, "skipped", reason, System.currentTimeMillis(), 0, List.of(),
            List.of(), Map.of(), List.of(), List.of(), null);
    }

    public boolean passed() {
        return verdict.equals("pass");
    }
}
