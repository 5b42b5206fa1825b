package io.l4mesh.node.log;

import java.time.Instant;
import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * logfmt events: {@code ts=... level=info event=backend.down pool=web backend=10.0.0.1:80 reason="..."}. One line
 * per event, keys stable, so logs can be grepped and parsed like metrics.
 *
 * <pre>{@code
 * Log.info(LOG, "backend.down", "pool", "web", "backend", id, "reason", why);
 * }</pre>
 */
public final class Log {
    private static final String ROOT = "io.l4mesh";

    private Log() {
    }

    /** Routes io.l4mesh (and Netty, at WARNING) to stderr in logfmt at {@code level}. */
    public static void setup(Level level) {
        Logger root = Logger.getLogger("");
        for (Handler h : root.getHandlers()) {
            root.removeHandler(h);
        }
        ConsoleHandler handler = new ConsoleHandler();
        handler.setLevel(Level.ALL);
        handler.setFormatter(new LogfmtFormatter());
        handler.setFilter(new ExportFailures());
        root.addHandler(handler);
        root.setLevel(Level.WARNING);
        Logger.getLogger(ROOT).setLevel(level);
        // scalecube and reactor-netty log every failed connect to an absent seed; l4mesh logs membership changes
        // itself, so theirs stay quiet unless debugging.
        Level libraries = level.intValue() <= Level.FINE.intValue() ? Level.INFO : Level.SEVERE;
        for (String noisy : new String[] {"io.scalecube", "reactor", "io.netty"}) {
            Logger.getLogger(noisy).setLevel(libraries);
        }
    }

    /**
     * The OTLP exporters (micrometer's and OpenTelemetry's) warn on every failed push; with the collector down that
     * is a line per interval. This lets one line per logger through each minute.
     */
    static final class ExportFailures implements java.util.logging.Filter {
        static final long QUIET_NANOS = java.util.concurrent.TimeUnit.MINUTES.toNanos(1);
        private final java.util.concurrent.ConcurrentHashMap<String, Long> last =
            new java.util.concurrent.ConcurrentHashMap<>();
        private final java.util.function.LongSupplier clock;

        ExportFailures() {
            this(System::nanoTime);
        }

        ExportFailures(java.util.function.LongSupplier clock) {
            this.clock = clock;
        }

        @Override
        public boolean isLoggable(java.util.logging.LogRecord r) {
            String name = r.getLoggerName();
            if (name == null || !(name.startsWith("io.micrometer.registry.otlp") || name.startsWith("io.opentelemetry"))) {
                return true;
            }
            long now = clock.getAsLong();
            boolean[] pass = {false};
            last.compute(name, (k, t) -> {
                pass[0] = t == null || now - t >= QUIET_NANOS;
                return pass[0] ? now : t;
            });
            return pass[0];
        }
    }

    public static Logger logger(Class<?> type) {
        return Logger.getLogger(type.getName());
    }

    public static void info(Logger log, String event, Object... keyValues) {
        emit(log, Level.INFO, event, keyValues);
    }

    public static void warn(Logger log, String event, Object... keyValues) {
        emit(log, Level.WARNING, event, keyValues);
    }

    public static void debug(Logger log, String event, Object... keyValues) {
        emit(log, Level.FINE, event, keyValues);
    }

    private static void emit(Logger log, Level level, String event, Object... kv) {
        if (!log.isLoggable(level)) {
            return;
        }
        StringBuilder sb = new StringBuilder("event=").append(event);
        for (int i = 0; i + 1 < kv.length; i += 2) {
            sb.append(' ').append(kv[i]).append('=');
            quote(sb, String.valueOf(kv[i + 1]));
        }
        log.log(level, sb.toString());
    }

    static void quote(StringBuilder sb, String v) {
        boolean plain = !v.isEmpty() && v.chars().allMatch(c -> c > ' ' && c != '"' && c != '=' && c < 127);
        if (plain) {
            sb.append(v);
            return;
        }
        sb.append('"');
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                default -> sb.append(c < ' ' ? ' ' : c);
            }
        }
        sb.append('"');
    }

    /** ts, level, logger, then the event's own fields; a thrown exception adds its class and message. */
    static final class LogfmtFormatter extends Formatter {
        @Override
        public String format(LogRecord r) {
            StringBuilder sb = new StringBuilder(160);
            sb.append("ts=").append(Instant.ofEpochMilli(r.getMillis()))
                .append(" level=").append(level(r.getLevel()))
                .append(" logger=").append(shortName(r.getLoggerName())).append(' ');
            String msg = formatMessage(r);
            if (msg.startsWith("event=")) {
                sb.append(msg);
            } else {
                sb.append("msg=");
                quote(sb, msg);
            }
            if (r.getThrown() != null) {
                sb.append(" error=");
                quote(sb, r.getThrown().getClass().getName() + ": " + r.getThrown().getMessage());
            }
            return sb.append('\n').toString();
        }

        private static String level(Level l) {
            if (l.intValue() >= Level.SEVERE.intValue()) {
                return "error";
            }
            if (l.intValue() >= Level.WARNING.intValue()) {
                return "warn";
            }
            return l.intValue() >= Level.INFO.intValue() ? "info" : "debug";
        }

        private static String shortName(String name) {
            if (name == null) {
                return "-";
            }
            int dot = name.lastIndexOf('.');
            return dot < 0 ? name : name.substring(dot + 1);
        }
    }
}
