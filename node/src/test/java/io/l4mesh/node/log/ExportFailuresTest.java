package io.l4mesh.node.log;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.Test;

/** A collector that is down costs one log line per exporter per minute, not one per push. */
class ExportFailuresTest {
    private static LogRecord from(String logger) {
        LogRecord r = new LogRecord(Level.WARNING, "Failed to publish metrics");
        r.setLoggerName(logger);
        return r;
    }

    @Test
    void oneLinePerExporterPerMinute() {
        AtomicLong now = new AtomicLong(1_000);
        Log.ExportFailures f = new Log.ExportFailures(now::get);
        String otlp = "io.micrometer.registry.otlp.OtlpMeterRegistry";
        assertTrue(f.isLoggable(from(otlp)), "the first failure is logged");
        now.addAndGet(Log.ExportFailures.QUIET_NANOS / 2);
        assertFalse(f.isLoggable(from(otlp)), "repeats within the minute are not");
        assertTrue(f.isLoggable(from("io.opentelemetry.exporter.internal.http.HttpExporter")), "each exporter has its own");
        now.addAndGet(Log.ExportFailures.QUIET_NANOS);
        assertTrue(f.isLoggable(from(otlp)), "a minute later, one more");
        for (int i = 0; i < 5; i++) {
            assertTrue(f.isLoggable(from("io.l4mesh.node.Node")), "l4mesh's own lines are never held back");
        }
    }
}
