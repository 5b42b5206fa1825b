package io.l4mesh.chaos.scenario;

import io.l4mesh.chaos.cluster.Cluster;
import io.l4mesh.chaos.report.ScenarioResult;
import java.io.PrintStream;
import java.nio.file.Path;

/** Runs one scenario (or its control) on a cluster at its baseline and turns what happened into its result. */
public final class Scenarios {
    private Scenarios() {
    }

    /** Copies a failed run's logs somewhere and says where. */
    public interface LogKeeper {
        Path keep(String scenario) throws Exception;
    }

    /**
     * Runs {@code s} (or, with {@code control}, its control) with {@code seed}; a failure (a broken invariant or an
     * exception) keeps the cluster's logs through {@code logs}. Never throws.
     */
    public static ScenarioResult run(Scenario s, Cluster c, long seed, PrintStream out, boolean control,
                                     LogKeeper logs) {
        String error = null;
        ScenarioResult result;
        try (Run r = new Run(s, c, seed, out, control ? s.name() + " (without flow sync)" : s.name())) {
            try {
                if (control) {
                    Catalogue.control(s, r);
                } else {
                    s.run(r);
                }
            } catch (Exception | AssertionError e) {
                error = e.getClass().getSimpleName() + ": " + (e.getMessage() == null ? "" : e.getMessage());
                r.event("error", error);
            }
            result = r.result(error, null);
            if (!result.passed()) {
                try {
                    Path kept = logs.keep(s.name());
                    out.printf("  %-16s logs kept in %s%n", s.name(), kept);
                    result = r.result(error, kept.toString());
                } catch (Exception e) {
                    out.printf("  %-16s could not keep the logs: %s%n", s.name(), e.getMessage());
                }
            }
        }
        out.printf("  %-16s %s%s%n", result.name(), result.verdict().toUpperCase(),
            result.reason() == null ? "" : ": " + result.reason());
        out.flush();
        return result;
    }
}
