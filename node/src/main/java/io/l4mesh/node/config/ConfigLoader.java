package io.l4mesh.node.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.l4mesh.hashring.MaglevTable;
import io.l4mesh.hashring.Primes;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Loads and validates a node's YAML configuration in one pass. Unknown fields are errors (a typo must not
 * silently fall back to a default). The first problem found is reported as one line.
 *
 * <pre>{@code
 * NodeConfig config = ConfigLoader.load(Path.of("l4mesh.yaml"));   // throws ConfigException
 * }</pre>
 */
public final class ConfigLoader {
    /** Largest Maglev table accepted (a prime; 40 MiB of int entries). */
    public static final int MAX_TABLE_SIZE = 10_000_019;
    private static final Pattern NAME = Names.PATTERN;
    private static final Pattern DURATION = Pattern.compile("(\\d{1,9})(ms|s|m|h)");
    private static final ObjectMapper YAML = new ObjectMapper(
        new YAMLFactory().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION));

    private ConfigLoader() {
    }

    /** Reads and validates the file. */
    public static NodeConfig load(Path file) throws ConfigException {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new ConfigException("", "file '" + file + "' does not exist");
        } catch (IOException e) {
            throw new ConfigException("", "cannot read '" + file + "': " + e.getMessage());
        }
        return parse(text, file);
    }

    /** Validates YAML text; {@code source} is recorded for reloads and may be null. */
    public static NodeConfig parse(String yaml, Path source) throws ConfigException {
        JsonNode root;
        try {
            root = YAML.readTree(yaml);
        } catch (JsonProcessingException e) {
            String msg = e.getOriginalMessage().replace('\n', ' ');
            int line = e.getLocation() == null ? -1 : e.getLocation().getLineNr();
            throw new ConfigException("", "not valid YAML" + (line > 0 ? " (line " + line + ")" : "") + ": " + msg);
        }
        if (root == null || root.isMissingNode() || root.isNull()) {
            throw new ConfigException("", "the file is empty");
        }
        Obj top = new Obj("", root, "node", "admin", "runtime", "maglev", "listeners", "pools", "membership",
            "telemetry");

        Obj node = top.obj("node", "id", "dataDir");
        String nodeId = node.string("id", defaultNodeId());
        checkName(node.path("id"), nodeId);
        String dataDirText = node.string("dataDir", "");
        Path dataDir = dataDirText.isEmpty() ? null : resolve(source, dataDirText);

        Obj admin = top.obj("admin", "bind", "enabled");
        HostPort adminBind = admin.bool("enabled", true)
            ? admin.hostPort("bind", NodeConfig.DEFAULT_ADMIN, true) : null;

        Obj runtime = top.obj("runtime", "ioThreads", "transport", "shutdownGrace", "withdrawDelay");
        int ioThreads = runtime.integer("ioThreads", 0, 0, 256);
        TransportKind transport = runtime.enumValue("transport", TransportKind.class, TransportKind.AUTO);
        Duration grace = runtime.duration("shutdownGrace", NodeConfig.DEFAULT_SHUTDOWN_GRACE, true);
        Duration withdrawDelay = runtime.duration("withdrawDelay", NodeConfig.DEFAULT_WITHDRAW_DELAY, true);

        Obj maglev = top.obj("maglev", "tableSize");
        int tableSize = maglev.integer("tableSize", MaglevTable.DEFAULT_SIZE, 7, MAX_TABLE_SIZE);
        if (!Primes.isPrime(tableSize)) {
            throw new ConfigException(maglev.path("tableSize"), tableSize + " is not prime (Maglev needs a prime M)");
        }

        Map<String, PoolConfig> pools = pools(top);
        List<ListenerConfig> listeners = listeners(top, pools);
        MeshConfig mesh = mesh(top, source);
        if (mesh != null && dataDir == null && source != null) {
            dataDir = resolve(source, "data-" + nodeId);
        }
        return new NodeConfig(source, nodeId, adminBind, ioThreads, transport, tableSize, grace, withdrawDelay,
            listeners, pools, mesh, dataDir, telemetry(top));
    }

    /** The {@code telemetry} section, or null when absent (OpenTelemetry export is off by default). */
    private static TelemetryConfig telemetry(Obj top) throws ConfigException {
        if (top.raw("telemetry") == null || top.raw("telemetry").isNull()) {
            return null;
        }
        Obj t = top.obj("telemetry", "otlp");
        Obj o = t.obj("otlp", "endpoint", "traces", "metrics", "interval");
        String text = o.string("endpoint", null);
        java.net.URI uri;
        try {
            uri = new java.net.URI(text);
        } catch (java.net.URISyntaxException e) {
            throw new ConfigException(o.path("endpoint"), "not a URL: " + e.getMessage());
        }
        if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null
            || uri.getQuery() != null) {
            throw new ConfigException(o.path("endpoint"), "must be an http:// or https:// URL of an OTLP/HTTP "
                + "collector, for example http://127.0.0.1:4318 (got '" + text + "')");
        }
        boolean traces = o.bool("traces", true);
        boolean metrics = o.bool("metrics", true);
        if (!traces && !metrics) {
            throw new ConfigException(o.path("traces"), "traces and metrics are both off: remove the telemetry "
                + "section instead");
        }
        return new TelemetryConfig(uri, traces, metrics, o.duration("interval", TelemetryConfig.DEFAULT_INTERVAL,
            false));
    }

    private static Path resolve(Path source, String text) {
        Path p = Path.of(text);
        if (p.isAbsolute() || source == null || source.toAbsolutePath().getParent() == null) {
            return p;
        }
        return source.toAbsolutePath().getParent().resolve(p);
    }

    private static MeshConfig mesh(Obj top, Path source) throws ConfigException {
        if (top.raw("membership") == null || top.raw("membership").isNull()) {
            return null;
        }
        Obj m = top.obj("membership", "bind", "seeds", "clusterName", "keyFile", "pingInterval", "pingTimeout",
            "suspicionMult", "syncInterval", "gossipInterval", "faultInjection", "flowSync");
        HostPort bind = m.hostPort("bind", null, false);
        List<HostPort> seeds = new ArrayList<>();
        List<JsonNode> items = m.list("seeds");
        for (int i = 0; i < items.size(); i++) {
            seeds.add(parseHostPort(m.path("seeds") + "[" + i + "]", items.get(i).asText(), false));
        }
        String cluster = m.string("clusterName", MeshConfig.DEFAULT_CLUSTER_NAME);
        checkName(m.path("clusterName"), cluster);
        String keyFile = m.string("keyFile", "");
        Duration ping = m.duration("pingInterval", io.l4mesh.membership.MembershipConfig.DEFAULT_PING_INTERVAL, false);
        Duration pingTimeout = m.duration("pingTimeout", io.l4mesh.membership.MembershipConfig.DEFAULT_PING_TIMEOUT,
            false);
        if (pingTimeout.compareTo(ping) >= 0) {
            throw new ConfigException(m.path("pingTimeout"), "must be less than pingInterval (" + ping + ")");
        }
        return new MeshConfig(bind, seeds, cluster, keyFile.isEmpty() ? null : resolve(source, keyFile), ping,
            pingTimeout, m.integer("suspicionMult", io.l4mesh.membership.MembershipConfig.DEFAULT_SUSPICION_MULT, 1, 20),
            m.duration("syncInterval", io.l4mesh.membership.MembershipConfig.DEFAULT_SYNC_INTERVAL, false),
            m.duration("gossipInterval", io.l4mesh.membership.MembershipConfig.DEFAULT_GOSSIP_INTERVAL, false),
            m.bool("faultInjection", false), flowSync(m, bind));
    }

    private static FlowSyncConfig flowSync(Obj m, HostPort bind) throws ConfigException {
        Obj f = m.obj("flowSync", "enabled", "port", "maxBytesPerSecond", "snapshotTimeout");
        FlowSyncConfig d = FlowSyncConfig.DEFAULTS;
        int port = f.integer("port", 0, 0, 65535);
        if (port == 0 && bind.port() == 65535) {
            throw new ConfigException(f.path("port"), "membership port 65535 leaves no room for port + 1; set a port");
        }
        if (port != 0 && port == bind.port()) {
            throw new ConfigException(f.path("port"), "must differ from the membership port " + bind.port());
        }
        long rate = f.integer("maxBytesPerSecond", (int) d.maxBytesPerSecond(), 10_000, 2_000_000_000);
        return new FlowSyncConfig(f.bool("enabled", d.enabled()), port, rate,
            f.duration("snapshotTimeout", d.snapshotTimeout(), true));
    }

    private static FlowTableConfig flowTable(Obj pk) throws ConfigException {
        Obj f = pk.obj("flowTable", "maxEntries", "tcpSynTimeout", "tcpEstablishedTimeout", "tcpClosingTimeout",
            "udpTimeout");
        FlowTableConfig d = FlowTableConfig.DEFAULTS;
        long max = f.integer("maxEntries", (int) d.maxEntries(), 1_000, 500_000_000);
        return new FlowTableConfig(max, timeout(f, "tcpSynTimeout", d.tcpSyn()),
            timeout(f, "tcpEstablishedTimeout", d.tcpEstablished()), timeout(f, "tcpClosingTimeout", d.tcpClosing()),
            timeout(f, "udpTimeout", d.udp()));
    }

    private static Duration timeout(Obj f, String key, Duration dflt) throws ConfigException {
        Duration t = f.duration(key, dflt, false);
        long max = FlowTableConfig.MAX_TIMEOUT_SECONDS;
        if (t.toSeconds() < 1 || t.toSeconds() > max) {
            throw new ConfigException(f.path(key), "must be between 1s and " + max + "s");
        }
        return t;
    }

    /** Non-fatal advice about a valid config, one line each. */
    public static List<String> warnings(NodeConfig config) {
        List<String> warnings = new ArrayList<>();
        for (PoolConfig pool : config.pools().values()) {
            if (MaglevTable.isUndersized(config.maglevTableSize(), pool.backends().size())) {
                warnings.add("config: maglev.tableSize: " + config.maglevTableSize() + " is less than "
                    + MaglevTable.MIN_SLOTS_PER_BACKEND + " x " + pool.backends().size() + " backends of pool '"
                    + pool.name() + "'; balance and disruption degrade");
            }
        }
        return warnings;
    }

    private static Map<String, PoolConfig> pools(Obj top) throws ConfigException {
        Map<String, PoolConfig> pools = new LinkedHashMap<>();
        JsonNode poolsNode = top.raw("pools");
        String path = top.path("pools");
        if (poolsNode == null || poolsNode.isNull()) {
            return pools;
        }
        if (!poolsNode.isObject()) {
            throw new ConfigException(path, "must be a map of pool name to pool");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = poolsNode.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            String poolPath = path + "." + name;
            checkName(poolPath, name);
            pools.put(name, pool(name, new Obj(poolPath, e.getValue(), "backends", "healthCheck", "connectTimeout",
                "idleTimeout", "maxConnectionsPerBackend", "proxyProtocol", "encapsulation")));
        }
        return pools;
    }

    private static PoolConfig pool(String name, Obj p) throws ConfigException {
        List<BackendConfig> backends = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        List<JsonNode> items = p.list("backends");
        for (int i = 0; i < items.size(); i++) {
            String path = p.path("backends") + "[" + i + "]";
            BackendConfig b = backend(path, items.get(i));
            if (!ids.add(b.id())) {
                throw new ConfigException(path + ".address", "'" + b.id() + "' is listed twice in pool '" + name + "'");
            }
            backends.add(b);
        }
        Obj hc = p.obj("healthCheck", "enabled", "interval", "timeout", "rise", "fall", "through", "send", "expect");
        String through = hc.string("through", "direct");
        if (!through.equals("direct") && !through.equals("tunnel")) {
            throw new ConfigException(hc.path("through"), "'" + through + "' is not one of direct, tunnel");
        }
        HealthCheckConfig health = new HealthCheckConfig(hc.bool("enabled", true),
            hc.duration("interval", HealthCheckConfig.DEFAULT_INTERVAL, false),
            hc.duration("timeout", HealthCheckConfig.DEFAULT_TIMEOUT, false),
            hc.integer("rise", HealthCheckConfig.DEFAULT_RISE, 1, 100),
            hc.integer("fall", HealthCheckConfig.DEFAULT_FALL, 1, 100), through.equals("tunnel"),
            checkText(hc, "send"), checkText(hc, "expect"));
        if (health.send() != null && health.expect() == null) {
            throw new ConfigException(hc.path("send"), "needs healthCheck.expect: the answer that shows the backend "
                + "works");
        }
        if (health.timeout().compareTo(health.interval()) > 0) {
            throw new ConfigException(hc.path("timeout"), "must not exceed interval (" + health.interval() + ")");
        }
        return new PoolConfig(name, backends, health,
            p.duration("connectTimeout", PoolConfig.DEFAULT_CONNECT_TIMEOUT, false),
            p.duration("idleTimeout", PoolConfig.DEFAULT_IDLE_TIMEOUT, false),
            p.integer("maxConnectionsPerBackend", 0, 0, Integer.MAX_VALUE),
            p.enumValue("proxyProtocol", ProxyProtocol.class, ProxyProtocol.NONE), encapsulation(p));
    }

    /** A health check's {@code send} or {@code expect}: 1 to {@value HealthCheckConfig#MAX_CHECK_BYTES} bytes. */
    private static String checkText(Obj hc, String field) throws ConfigException {
        if (hc.present(field) == null) {
            return null;
        }
        String t = hc.string(field, "");
        int bytes = t.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        if (bytes == 0 || bytes > HealthCheckConfig.MAX_CHECK_BYTES) {
            throw new ConfigException(hc.path(field), "must be 1 to " + HealthCheckConfig.MAX_CHECK_BYTES
                + " bytes, got " + bytes);
        }
        return t;
    }

    private static EncapsulationConfig encapsulation(Obj p) throws ConfigException {
        Obj e = p.obj("encapsulation", "type", "port", "vni", "innerMac");
        EncapsulationConfig.Type type = e.enumValue("type", EncapsulationConfig.Type.class,
            EncapsulationConfig.Type.GUE);
        if (type == EncapsulationConfig.Type.GUE) {
            return new EncapsulationConfig(type, e.integer("port", 6080, 1, 65535), 0, null);
        }
        String mac = e.string("innerMac", EncapsulationConfig.DEFAULT_INNER_MAC);
        if (EncapsulationConfig.parseMac(mac) == null) {
            throw new ConfigException(e.path("innerMac"), "'" + mac + "' is not a MAC address (aa:bb:cc:dd:ee:ff)");
        }
        return new EncapsulationConfig(type, e.integer("port", 4789, 1, 65535), e.integer("vni", 0, 0, 0xFFFFFF), mac);
    }

    /** A backend is {@code host:port} or {@code {address, weight, draining}}. */
    public static BackendConfig backend(String path, JsonNode node) throws ConfigException {
        if (node.isTextual()) {
            return new BackendConfig(parseHostPort(path, node.asText(), false), BackendConfig.DEFAULT_WEIGHT, false);
        }
        Obj b = new Obj(path, node, "address", "weight", "draining");
        HostPort address = b.hostPort("address", null, false);
        return new BackendConfig(address, b.integer("weight", BackendConfig.DEFAULT_WEIGHT, 0,
            BackendConfig.MAX_WEIGHT), b.bool("draining", false));
    }

    private static List<ListenerConfig> listeners(Obj top, Map<String, PoolConfig> pools) throws ConfigException {
        List<ListenerConfig> listeners = new ArrayList<>();
        Set<String> names = new HashSet<>();
        Set<String> binds = new HashSet<>();
        List<JsonNode> items = top.list("listeners");
        for (int i = 0; i < items.size(); i++) {
            Obj l = new Obj(top.path("listeners") + "[" + i + "]", items.get(i),
                "name", "bind", "protocol", "pool", "algorithm", "maxConnections", "idleTimeout", "mode", "packet");
            String name = l.string("name", null);
            checkName(l.path("name"), name);
            if (!names.add(name)) {
                throw new ConfigException(l.path("name"), "listener '" + name + "' is defined twice");
            }
            HostPort bind = l.hostPort("bind", null, true);
            Protocol protocol = l.enumValue("protocol", Protocol.class, Protocol.TCP);
            if (bind.port() != 0 && !binds.add(protocol + " " + bind)) {
                throw new ConfigException(l.path("bind"), protocol.name().toLowerCase(Locale.ROOT) + " " + bind
                    + " is bound by another listener");
            }
            String pool = l.string("pool", null);
            PoolConfig poolConfig = pools.get(pool);
            if (poolConfig == null) {
                throw new ConfigException(l.path("pool"), "no pool named '" + pool + "' ("
                    + (pools.isEmpty() ? "no pools defined" : "pools: " + String.join(", ", pools.keySet())) + ")");
            }
            if (protocol == Protocol.UDP && poolConfig.proxyProtocol() != ProxyProtocol.NONE) {
                throw new ConfigException(l.path("pool"), "pool '" + pool
                    + "' sends PROXY protocol headers, which udp listeners do not support");
            }
            String algoName = l.string("algorithm", Algorithm.MAGLEV.configName());
            Algorithm algorithm = Algorithm.byConfigName(algoName);
            if (algorithm == null) {
                throw new ConfigException(l.path("algorithm"), "'" + algoName
                    + "' is not one of maglev, round-robin, least-connections, source-ip");
            }
            int maxConnections = l.integer("maxConnections", ListenerConfig.DEFAULT_MAX_CONNECTIONS, 1, 10_000_000);
            Duration idle = l.duration("idleTimeout", null, false);
            String mode = l.string("mode", "proxy");
            PacketConfig packet = null;
            if (mode.equals("packet")) {
                if (algorithm != Algorithm.MAGLEV) {
                    throw new ConfigException(l.path("algorithm"), "packet mode uses maglev (every node must pick alike)");
                }
                if (!bind.isLiteral()) {
                    throw new ConfigException(l.path("bind"), "packet mode needs a literal VIP address, got '"
                        + bind.host() + "'");
                }
                Obj pk = l.obj("packet", "tun", "queues", "fabricMtu", "flowTable", "offload");
                String tun = pk.string("tun", ("l4m" + name).substring(0, Math.min(15, 3 + name.length())));
                if (!tun.matches("[A-Za-z0-9_.-]{1,15}")) {
                    throw new ConfigException(pk.path("tun"), "'" + tun + "' is not a device name (1 to 15 characters)");
                }
                packet = new PacketConfig(tun, pk.integer("queues", 0, 0, 64),
                    pk.integer("fabricMtu", PacketConfig.DEFAULT_FABRIC_MTU, 576, 65535), flowTable(pk),
                    pk.bool("offload", true));
            } else if (!mode.equals("proxy")) {
                throw new ConfigException(l.path("mode"), "'" + mode + "' is not one of proxy, packet");
            } else if (l.raw("packet") != null) {
                throw new ConfigException(l.path("packet"), "only for mode: packet");
            }
            listeners.add(new ListenerConfig(name, bind, protocol, pool, algorithm, maxConnections, idle, packet));
        }
        return listeners;
    }

    static HostPort parseHostPort(String path, String text, boolean allowPortZero) throws ConfigException {
        HostPort hp = HostPort.parse(text, allowPortZero);
        if (hp == null) {
            throw new ConfigException(path, "'" + text + "' is not host:port");
        }
        if (hp.tryResolve() == null) {
            throw new ConfigException(path, hp.unresolvable());
        }
        return hp;
    }

    static Duration parseDuration(String path, String text) throws ConfigException {
        Matcher m = DURATION.matcher(text.trim());
        if (!m.matches()) {
            throw new ConfigException(path, "'" + text + "' is not a duration (like 500ms, 2s, 5m, 1h)");
        }
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            default -> Duration.ofHours(n);
        };
    }

    private static void checkName(String path, String name) throws ConfigException {
        if (!NAME.matcher(name).matches()) {
            throw new ConfigException(path, "'" + name + "' is not a valid name (letters, digits, . _ -; up to 64)");
        }
    }

    private static String defaultNodeId() {
        try {
            String host = InetAddress.getLocalHost().getHostName();
            return NAME.matcher(host).matches() ? host : "l4mesh";
        } catch (UnknownHostException e) {
            return "l4mesh";
        }
    }

    /** A YAML mapping read field by field, knowing its own path for error messages. */
    private static final class Obj {
        private final String path;
        private final JsonNode node;

        Obj(String path, JsonNode node, String... allowed) throws ConfigException {
            this.path = path;
            if (node != null && !node.isNull() && !node.isObject()) {
                throw new ConfigException(path, "must be a mapping of fields");
            }
            this.node = node;
            if (node != null) {
                Set<String> allow = Set.of(allowed);
                for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
                    String f = it.next();
                    if (!allow.contains(f)) {
                        throw new ConfigException(path(f), "unknown field (expected one of " + String.join(", ", allowed)
                            + ")");
                    }
                }
            }
        }

        String path(String field) {
            return path.isEmpty() ? field : path + "." + field;
        }

        JsonNode raw(String field) {
            return node == null ? null : node.get(field);
        }

        private JsonNode present(String field) {
            JsonNode v = raw(field);
            return v == null || v.isNull() ? null : v;
        }

        Obj obj(String field, String... allowed) throws ConfigException {
            return new Obj(path(field), present(field), allowed);
        }

        List<JsonNode> list(String field) throws ConfigException {
            JsonNode v = present(field);
            List<JsonNode> out = new ArrayList<>();
            if (v == null) {
                return out;
            }
            if (!v.isArray()) {
                throw new ConfigException(path(field), "must be a list");
            }
            v.forEach(out::add);
            return out;
        }

        String string(String field, String dflt) throws ConfigException {
            JsonNode v = present(field);
            if (v == null) {
                if (dflt == null) {
                    throw new ConfigException(path(field), "is required");
                }
                return dflt;
            }
            if (!v.isValueNode() || v.isBoolean()) {
                throw new ConfigException(path(field), "must be a string");
            }
            return v.asText();
        }

        boolean bool(String field, boolean dflt) throws ConfigException {
            JsonNode v = present(field);
            if (v == null) {
                return dflt;
            }
            if (!v.isBoolean()) {
                throw new ConfigException(path(field), "'" + v.asText() + "' is not true or false");
            }
            return v.booleanValue();
        }

        int integer(String field, int dflt, int min, int max) throws ConfigException {
            JsonNode v = present(field);
            if (v == null) {
                return dflt;
            }
            if (!v.isIntegralNumber() || !v.canConvertToInt()) {
                throw new ConfigException(path(field), "'" + v.asText() + "' is not a whole number");
            }
            int n = v.intValue();
            if (n < min || n > max) {
                throw new ConfigException(path(field), n + " is not in " + min + ".." + max);
            }
            return n;
        }

        Duration duration(String field, Duration dflt, boolean zeroAllowed) throws ConfigException {
            JsonNode v = present(field);
            if (v == null) {
                return dflt;
            }
            Duration d = parseDuration(path(field), v.asText());
            if (d.isZero() && !zeroAllowed) {
                throw new ConfigException(path(field), "must be greater than zero");
            }
            return d;
        }

        HostPort hostPort(String field, HostPort dflt, boolean allowPortZero) throws ConfigException {
            JsonNode v = present(field);
            if (v == null) {
                if (dflt == null) {
                    throw new ConfigException(path(field), "is required");
                }
                return dflt;
            }
            return parseHostPort(path(field), v.asText(), allowPortZero);
        }

        <E extends Enum<E>> E enumValue(String field, Class<E> type, E dflt) throws ConfigException {
            JsonNode v = present(field);
            if (v == null) {
                return dflt;
            }
            String text = v.asText().trim().toUpperCase(Locale.ROOT).replace('-', '_');
            for (E e : type.getEnumConstants()) {
                if (e.name().equals(text)) {
                    return e;
                }
            }
            List<String> names = new ArrayList<>();
            for (E e : type.getEnumConstants()) {
                names.add(e.name().toLowerCase(Locale.ROOT).replace('_', '-'));
            }
            throw new ConfigException(path(field), "'" + v.asText() + "' is not one of " + String.join(", ", names));
        }
    }
}
