package io.l4mesh.chaos.report;

import java.util.List;

/**
 * A whole chaos run: when, with which seed, on which machine, and each scenario's result.
 *
 * @param verdict {@code pass} when every scenario that ran passed (skipped ones do not count against it)
 */
public record SuiteReport(long startEpochMs, long seed, String machine, String verdict,
                          List<ScenarioResult> scenarios) {
}
