package io.l4mesh.node.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ConfigLoaderTest {
    static final String VALID = """
        node: {id: n1}
        admin: {bind: 127.0.0.1:0}
        listeners:
          - {name: web, bind: 127.0.0.1:8080, protocol: tcp, pool: web}
          - {name: dns, bind: "[::1]:5353", protocol: udp, pool: dns, algorithm: source-ip, idleTimeout: 10s}
        pools:
          web:
            backends:
              - 10.0.0.1:80
              - {address: 10.0.0.2:80, weight: 2}
              - {address: "[fd00::3]:80", weight: 0, draining: true}
            healthCheck: {interval: 500ms, timeout: 200ms, rise: 1, fall: 2}
            connectTimeout: 1s
            proxyProtocol: v2
          dns:
            backends: [10.0.0.9:53]
        """;

    @Test
    void loadsAValidConfigWithDefaults() throws Exception {
        NodeConfig c = ConfigLoader.parse(VALID, null);
        assertEquals("n1", c.nodeId());
        assertEquals(2, c.listeners().size());
        ListenerConfig dns = c.listener("dns");
        assertEquals(Protocol.UDP, dns.protocol());
        assertEquals(Algorithm.SOURCE_IP, dns.algorithm());
        assertEquals(new HostPort("::1", 5353), dns.bind());
        assertEquals(Duration.ofSeconds(10), dns.idleTimeout());
        assertEquals(Algorithm.MAGLEV, c.listener("web").algorithm());
        PoolConfig web = c.pools().get("web");
        assertEquals(3, web.backends().size());
        assertEquals(2, web.backends().get(1).weight());
        assertEquals("[fd00::3]:80", web.backends().get(2).id());
        assertTrue(web.backends().get(2).draining());
        assertEquals(ProxyProtocol.V2, web.proxyProtocol());
        assertEquals(Duration.ofMillis(500), web.healthCheck().interval());
        assertEquals(PoolConfig.DEFAULT_IDLE_TIMEOUT, web.idleTimeout());
        assertEquals(65537, c.maglevTableSize());
        assertEquals(ListenerConfig.DEFAULT_MAX_CONNECTIONS, c.listener("web").maxConnections());
        assertTrue(ConfigLoader.warnings(c).isEmpty());
    }

    static Stream<Arguments> badConfigs() {
        return Stream.of(
            Arguments.of("backend not host:port", VALID.replace("10.0.0.2:80", "db:abc"),
                "config: pools.web.backends[1].address: 'db:abc' is not host:port"),
            Arguments.of("scalar backend not host:port", VALID.replace("- 10.0.0.1:80", "- 10.0.0.1"),
                "config: pools.web.backends[0]: '10.0.0.1' is not host:port"),
            Arguments.of("port out of range", VALID.replace("10.0.0.9:53", "10.0.0.9:70000"),
                "config: pools.dns.backends[0]: '10.0.0.9:70000' is not host:port"),
            Arguments.of("unknown pool", VALID.replace("pool: dns,", "pool: nope,"),
                "config: listeners[1].pool: no pool named 'nope' (pools: web, dns)"),
            Arguments.of("unknown algorithm", VALID.replace("source-ip", "random"),
                "config: listeners[1].algorithm: 'random' is not one of maglev, round-robin, least-connections,"
                    + " source-ip"),
            Arguments.of("unknown protocol", VALID.replace("protocol: udp", "protocol: sctp"),
                "config: listeners[1].protocol: 'sctp' is not one of tcp, udp"),
            Arguments.of("typo in a field", VALID.replace("connectTimeout", "conectTimeout"),
                "config: pools.web.conectTimeout: unknown field (expected one of backends, healthCheck,"
                    + " connectTimeout, idleTimeout, maxConnectionsPerBackend, proxyProtocol, encapsulation)"),
            Arguments.of("bad duration", VALID.replace("timeout: 200ms", "timeout: 2 seconds"),
                "config: pools.web.healthCheck.timeout: '2 seconds' is not a duration (like 500ms, 2s, 5m, 1h)"),
            Arguments.of("timeout above interval", VALID.replace("timeout: 200ms", "timeout: 2s"),
                "config: pools.web.healthCheck.timeout: must not exceed interval (PT0.5S)"),
            Arguments.of("negative weight", VALID.replace("weight: 2", "weight: -1"),
                "config: pools.web.backends[1].weight: -1 is not in 0..1000000"),
            Arguments.of("weight not a number", VALID.replace("weight: 2", "weight: heavy"),
                "config: pools.web.backends[1].weight: 'heavy' is not a whole number"),
            Arguments.of("duplicate backend", VALID.replace("10.0.0.2:80", "10.0.0.1:80"),
                "config: pools.web.backends[1].address: '10.0.0.1:80' is listed twice in pool 'web'"),
            Arguments.of("duplicate listener name", VALID.replace("name: dns", "name: web"),
                "config: listeners[1].name: listener 'web' is defined twice"),
            Arguments.of("same bind twice", VALID.replace("\"[::1]:5353\", protocol: udp", "127.0.0.1:8080, protocol: tcp"),
                "config: listeners[1].bind: tcp 127.0.0.1:8080 is bound by another listener"),
            Arguments.of("table size not prime", VALID + "maglev: {tableSize: 65536}\n",
                "config: maglev.tableSize: 65536 is not prime (Maglev needs a prime M)"),
            Arguments.of("PROXY protocol on udp", VALID.replace("pool: dns,", "pool: web,"),
                "config: listeners[1].pool: pool 'web' sends PROXY protocol headers, which udp listeners do not"
                    + " support"),
            Arguments.of("missing bind", VALID.replace("bind: 127.0.0.1:8080, ", ""),
                "config: listeners[0].bind: is required"),
            Arguments.of("rise zero", VALID.replace("rise: 1", "rise: 0"),
                "config: pools.web.healthCheck.rise: 0 is not in 1..100"),
            Arguments.of("unresolvable host", VALID.replace("10.0.0.9:53", "no-such-host.invalid:53"),
                "config: pools.dns.backends[0]: cannot resolve host 'no-such-host.invalid'"),
            Arguments.of("duplicate key", VALID + "node: {id: again}\n",
                "config: not valid YAML (line 17): Duplicate field 'node'"),
            Arguments.of("not a mapping", "- just\n- a list\n", "config: must be a mapping of fields"),
            Arguments.of("empty", "", "config: the file is empty"),
            Arguments.of("bad VXLAN MAC", VALID.replace("proxyProtocol: v2", "proxyProtocol: v2\n    encapsulation: "
                + "{type: vxlan, innerMac: 02:zz}"),
                "config: pools.web.encapsulation.innerMac: '02:zz' is not a MAC address (aa:bb:cc:dd:ee:ff)"),
            Arguments.of("packet mode with round robin", VALID.replace("pool: web}", "pool: web, mode: packet, "
                + "algorithm: round-robin}"),
                "config: listeners[0].algorithm: packet mode uses maglev (every node must pick alike)"),
            Arguments.of("flow timeout too long", VALID.replace("pool: web}", "pool: web, mode: packet, "
                + "packet: {flowTable: {tcpEstablishedTimeout: 30d}}}"),
                "config: listeners[0].packet.flowTable.tcpEstablishedTimeout: '30d' is not a duration (like 500ms, 2s, 5m, 1h)"),
            Arguments.of("flow table too small", VALID.replace("pool: web}", "pool: web, mode: packet, "
                + "packet: {flowTable: {maxEntries: 10}}}"),
                "config: listeners[0].packet.flowTable.maxEntries: 10 is not in 1000..500000000"),
            Arguments.of("flow timeout over the clock's range", VALID.replace("pool: web}", "pool: web, mode: packet, "
                + "packet: {flowTable: {udpTimeout: 200h}}}"),
                "config: listeners[0].packet.flowTable.udpTimeout: must be between 1s and 524287s"),
            Arguments.of("unknown health path", VALID.replace("rise: 1, fall: 2}", "rise: 1, fall: 2, through: wormhole}"),
                "config: pools.web.healthCheck.through: 'wormhole' is not one of direct, tunnel"),
            Arguments.of("health send without expect", VALID.replace("rise: 1, fall: 2}", "rise: 1, fall: 2, send: hi}"),
                "config: pools.web.healthCheck.send: needs healthCheck.expect: the answer that shows the backend works"),
            Arguments.of("empty health expect", VALID.replace("rise: 1, fall: 2}", "rise: 1, fall: 2, expect: \"\"}"),
                "config: pools.web.healthCheck.expect: must be 1 to 1024 bytes, got 0"),
            Arguments.of("unknown mode", VALID.replace("pool: web}", "pool: web, mode: magic}"),
                "config: listeners[0].mode: 'magic' is not one of proxy, packet"),
            Arguments.of("bad yaml", "listeners: [unclosed\n", null),
            Arguments.of("bad node id", VALID.replace("id: n1", "id: \"has space\""),
                "config: node.id: 'has space' is not a valid name (letters, digits, . _ -; up to 64)"),
            Arguments.of("listeners not a list", VALID.replace("listeners:\n", "listeners: 3\nx:\n"),
                "config: x: unknown field (expected one of node, admin, runtime, maglev, listeners, pools, membership, telemetry)"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badConfigs")
    void rejectsWithOneLineNamingTheField(String what, String yaml, String expected) {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.parse(yaml, null));
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        assertTrue(e.getMessage().startsWith("config: "), e.getMessage());
        if (expected != null) {
            assertEquals(expected, e.getMessage());
        }
    }

    static final String MESH = VALID + """
        membership:
          bind: 127.0.0.1:7946
          seeds: [127.0.0.1:7947, "[::1]:7948"]
          clusterName: prod
          pingInterval: 300ms
        """;

    @Test
    void loadsAMembershipSection() throws Exception {
        NodeConfig c = ConfigLoader.parse(MESH, Path.of("/etc/l4mesh/l4mesh.yaml"));
        MeshConfig m = c.mesh();
        assertEquals(new HostPort("127.0.0.1", 7946), m.bind());
        assertEquals(2, m.seeds().size());
        assertEquals("prod", m.clusterName());
        assertEquals(Duration.ofMillis(300), m.pingInterval());
        assertEquals(io.l4mesh.membership.MembershipConfig.DEFAULT_PING_TIMEOUT, m.pingTimeout());
        assertEquals(Path.of("/etc/l4mesh/data-n1"), c.dataDir(), "a mesh node keeps its state beside its config");
        assertNull(ConfigLoader.parse(VALID, null).mesh());
        assertTrue(m.flowSync().enabled(), "flow sync is on by default");
        assertEquals(7947, m.flowSyncPort(), "membership port + 1");
        NodeConfig off = ConfigLoader.parse(MESH + "  flowSync: {enabled: false, port: 9000, snapshotTimeout: 1s}\n",
            null);
        assertFalse(off.mesh().flowSync().enabled());
        assertEquals(9000, off.mesh().flowSyncPort());
        ConfigException e = assertThrows(ConfigException.class,
            () -> ConfigLoader.parse(MESH + "  flowSync: {port: 7946}\n", null));
        assertEquals("config: membership.flowSync.port: must differ from the membership port 7946", e.getMessage());
        e = assertThrows(ConfigException.class, () -> ConfigLoader.parse(MESH + "  flowSync: {rate: 1}\n", null));
        assertTrue(e.getMessage().startsWith("config: membership.flowSync.rate: unknown field"), e.getMessage());
    }

    @Test
    void badMembershipFieldsAreOneLine() {
        ConfigException e = assertThrows(ConfigException.class,
            () -> ConfigLoader.parse(MESH.replace("127.0.0.1:7947", "nowhere"), null));
        assertEquals("config: membership.seeds[0]: 'nowhere' is not host:port", e.getMessage());
        e = assertThrows(ConfigException.class,
            () -> ConfigLoader.parse(MESH.replace("pingInterval: 300ms", "pingTimeout: 1s"), null));
        assertEquals("config: membership.pingTimeout: must be less than pingInterval (PT0.25S)", e.getMessage());
        e = assertThrows(ConfigException.class, () -> ConfigLoader.parse(MESH.replace("bind: 127.0.0.1:7946",
            "bind: 127.0.0.1:0"), null));
        assertEquals("config: membership.bind: '127.0.0.1:0' is not host:port", e.getMessage());
    }

    @Test
    void aMeshNodeWithoutAClusterKeyDoesNotStart() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(System.getenv(io.l4mesh.membership.ClusterKey.ENV) == null);
        NodeConfig c = ConfigLoader.parse(MESH, null);
        ConfigException e = assertThrows(ConfigException.class, () -> io.l4mesh.node.Node.start(c));
        assertEquals("config: membership.keyFile: no cluster key: set membership.keyFile or $L4MESH_CLUSTER_KEY",
            e.getMessage());
    }

    @Test
    void missingFileIsOneLine() {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(Path.of("/nonexistent/x.yaml")));
        assertEquals("config: file '/nonexistent/x.yaml' does not exist", e.getMessage());
    }

    @Test
    void warnsWhenTableIsSmallForThePool() throws Exception {
        NodeConfig c = ConfigLoader.parse(VALID + "maglev: {tableSize: 251}\n", null);
        assertEquals(1, ConfigLoader.warnings(c).size());
        assertTrue(ConfigLoader.warnings(c).get(0).contains("less than 100 x 3 backends of pool 'web'"));
    }

    @Test
    void hostPortParsing() {
        assertEquals(new HostPort("10.0.0.1", 80), HostPort.parse("10.0.0.1:80", false));
        assertEquals(new HostPort("fd00::1", 80), HostPort.parse("[fd00::1]:80", false));
        assertEquals("[fd00::1]:80", HostPort.parse("[fd00::1]:80", false).toString());
        assertNull(HostPort.parse("fd00::1:80", false), "bare IPv6 with port is ambiguous");
        assertNull(HostPort.parse("host:0", false));
        assertEquals(0, HostPort.parse("host:0", true).port());
        assertNull(HostPort.parse(":80", false));
        assertNull(HostPort.parse("a b:80", false));
        assertNull(HostPort.parse("[fd00::1]80", false));
        assertNull(HostPort.parse("x:-1", false));
        assertNull(HostPort.parse("x:65536", false));
        assertNull(HostPort.parse("[db.internal]:80", false), "brackets are for IPv6 literals");
        assertNull(HostPort.parse("[fd00::g]:80", false));
        assertEquals("[fd00::1]:80", HostPort.parse("[FD00:0:0::1]:80", false).toString(),
            "one spelling of an IPv6 backend, the canonical one");
        assertEquals("[fd00::1]:80", HostPort.format(new java.net.InetSocketAddress("fd00:0:0:0:0:0:0:1", 80)),
            "a resolved address reads as its config spelling does");
        assertTrue(HostPort.parse("10.0.0.1:80", false).isLiteral());
        assertTrue(!HostPort.parse("db_1.internal:5432", false).isLiteral());
    }
}
