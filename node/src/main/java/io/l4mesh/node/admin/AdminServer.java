package io.l4mesh.node.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.l4mesh.node.config.BackendConfig;
import io.l4mesh.node.config.ConfigException;
import io.l4mesh.node.config.ConfigLoader;
import io.l4mesh.node.config.HostPort;
import io.l4mesh.node.config.NodeConfig;
import io.l4mesh.node.log.Log;
import io.l4mesh.node.metrics.MetricName;
import io.l4mesh.node.routing.PoolException;
import io.l4mesh.node.transport.Transport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * The admin HTTP API. Every answer is JSON except {@code /metrics} (Prometheus text). Errors are
 * {@code {"error": "..."}} with a 4xx status for bad requests.
 *
 * <pre>
 * GET    /status                                   node, listeners, pools, backends
 * GET    /listeners | /backends | /flows
 * GET    /lookup?listener=L&amp;src=IP:PORT[&amp;dst=IP:PORT]   which backend would this flow go to
 * POST   /pools/P/backends            {"address": "h:p", "weight": 1}, or a list of them (one change)
 * DELETE /pools/P/backends/ADDR
 * PUT    /pools/P/backends/ADDR/weight {"weight": 3}
 * POST   /pools/P/backends/ADDR/drain | /undrain
 * POST   /reload                                   re-read the config file
 * GET    /fault | POST, DELETE /fault/partition|gossip|health|sync   fault seams (membership.faultInjection only)
 * GET    /metrics                                  Prometheus
 * GET    /healthz                                  200, or 503 while draining
 * </pre>
 */
public final class AdminServer implements AutoCloseable {
    static final int MAX_REQUEST_BYTES = 64 * 1024;
    private static final Logger LOG = Log.logger(AdminServer.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final NodeControl node;
    private final HostPort bind;
    private final EventLoopGroup loop;
    private Channel channel;

    public AdminServer(NodeControl node, HostPort bind) {
        this.node = node;
        this.bind = bind;
        this.loop = Transport.select(io.l4mesh.node.config.TransportKind.NIO).newGroup(1, "l4mesh-admin");
        for (String klass : List.of("2xx", "4xx", "5xx")) {   // every class exported from the start, at 0
            node.metrics().counter(MetricName.ADMIN_REQUESTS, "status", klass);
        }
    }

    /** Binds the API; throws when the address is taken. */
    public void bind() throws Exception {
        try {
            channel = new ServerBootstrap()
                .group(loop)
                .channel(io.netty.channel.socket.nio.NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(4096, 8192, 8192));
                        ch.pipeline().addLast(new HttpObjectAggregator(MAX_REQUEST_BYTES));
                        ch.pipeline().addLast(new Handler());
                    }
                })
                .bind(bind.resolve()).sync().channel();
        } catch (Exception e) {
            close();
            throw new IllegalStateException("cannot bind admin API on " + bind + ": " + e.getMessage(), e);
        }
    }

    public InetSocketAddress boundAddress() {
        return channel == null ? null : (InetSocketAddress) channel.localAddress();
    }

    @Override
    public void close() {
        if (channel != null) {
            channel.close().syncUninterruptibly();
        }
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    /** An answer: status and JSON body (or raw text for /metrics). */
    record Reply(HttpResponseStatus status, Object body, String contentType) {
        static Reply ok(Object body) {
            return new Reply(HttpResponseStatus.OK, body, "application/json");
        }

        static Reply error(HttpResponseStatus status, String message) {
            ObjectNode n = JSON.createObjectNode();
            n.put("error", message);
            return new Reply(status, n, "application/json");
        }
    }

    /** A bad request: becomes a 4xx with its message. */
    static final class ApiException extends Exception {
        final HttpResponseStatus status;

        ApiException(HttpResponseStatus status, String message) {
            super(message);
            this.status = status;
        }
    }

    /**
     * One request: queries answer at once from published state; a change becomes a future the control thread
     * completes, and the reply is written from its completion. The event loop never waits.
     */
    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            if (!req.decoderResult().isSuccess()) {
                send(ctx, keepAlive, Reply.error(HttpResponseStatus.BAD_REQUEST, "malformed HTTP request"));
                return;
            }
            String uri = req.uri();
            CompletableFuture<Reply> reply;
            try {
                reply = route(req);
            } catch (Exception e) {
                reply = CompletableFuture.failedFuture(e);
            }
            reply.whenComplete((r, e) -> {
                Reply out = e == null ? r : failure(e, uri);
                if (ctx.executor().inEventLoop()) {
                    send(ctx, keepAlive, out);
                } else {
                    ctx.executor().execute(() -> send(ctx, keepAlive, out));
                }
            });
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (cause instanceof TooLongFrameException) {
                send(ctx, false, Reply.error(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "request too large"));
            } else {
                ctx.close();
            }
        }
    }

    /** A failed request as its reply: 4xx for what the caller got wrong, 503 for a stuck control thread, else 500. */
    private static Reply failure(Throwable e, String uri) {
        while ((e instanceof java.util.concurrent.CompletionException
            || e instanceof java.util.concurrent.ExecutionException) && e.getCause() != null) {
            e = e.getCause();
        }
        if (e instanceof ApiException a) {
            return Reply.error(a.status, a.getMessage());
        }
        if (e instanceof PoolException p) {
            return Reply.error(switch (p.kind()) {
                case NOT_FOUND -> HttpResponseStatus.NOT_FOUND;
                case CONFLICT -> HttpResponseStatus.CONFLICT;
                case INVALID -> HttpResponseStatus.BAD_REQUEST;
            }, p.getMessage());
        }
        if (e instanceof IllegalArgumentException) {
            return Reply.error(HttpResponseStatus.BAD_REQUEST, e.getMessage());
        }
        if (e instanceof java.util.concurrent.TimeoutException) {
            return Reply.error(HttpResponseStatus.SERVICE_UNAVAILABLE,
                "the control thread did not take the change in time; nothing was applied");
        }
        Log.warn(LOG, "admin.error", "path", uri, "detail", e.toString());
        return Reply.error(HttpResponseStatus.INTERNAL_SERVER_ERROR, e.toString());
    }

    private void send(ChannelHandlerContext ctx, boolean keepAlive, Reply reply) {
        byte[] body;
        try {
            body = reply.body instanceof String s ? s.getBytes(StandardCharsets.UTF_8)
                : JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(reply.body);
        } catch (Exception e) {
            body = ("{\"error\": \"cannot encode reply\"}").getBytes(StandardCharsets.UTF_8);
        }
        String klass = reply.status.code() / 100 + "xx";
        node.metrics().counter(MetricName.ADMIN_REQUESTS, "status", klass).increment();
        ByteBuf content = Unpooled.wrappedBuffer(body, "\n".getBytes(StandardCharsets.UTF_8));
        FullHttpResponse resp = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, reply.status, content);
        resp.headers().set(HttpHeaderNames.CONTENT_TYPE, reply.contentType);
        HttpUtil.setContentLength(resp, content.readableBytes());
        HttpUtil.setKeepAlive(resp, keepAlive);
        var f = ctx.writeAndFlush(resp);
        if (!keepAlive) {
            f.addListener(ChannelFutureListener.CLOSE);
        }
    }

    private CompletableFuture<Reply> route(FullHttpRequest req) throws Exception {
        QueryStringDecoder qs = new QueryStringDecoder(req.uri());
        List<String> p = new ArrayList<>();
        for (String s : qs.rawPath().split("/")) {
            if (!s.isEmpty()) {
                p.add(QueryStringDecoder.decodeComponent(s));
            }
        }
        HttpMethod m = req.method();
        String first = p.isEmpty() ? "" : p.get(0);
        switch (first) {
            case "status" -> {
                return done(get(m, p, 1, () -> node.status()));
            }
            case "listeners" -> {
                return done(get(m, p, 1, () -> node.status().listeners()));
            }
            case "backends" -> {
                return done(get(m, p, 1, () -> node.status().pools()));
            }
            case "flows" -> {
                return done(get(m, p, 1, this::flows));
            }
            case "lookup" -> {
                return done(get(m, p, 1, () -> lookup(qs.parameters())));
            }
            case "metrics" -> {
                expect(m, HttpMethod.GET, p, 1);
                return done(new Reply(HttpResponseStatus.OK, node.metrics().scrape(), "text/plain; version=0.0.4"));
            }
            case "healthz" -> {
                expect(m, HttpMethod.GET, p, 1);
                if (node.draining()) {
                    return done(Reply.error(HttpResponseStatus.SERVICE_UNAVAILABLE, "draining"));
                }
                String failed = node.selfCheck();   // never waits for the control thread
                return done(failed != null ? Reply.error(HttpResponseStatus.SERVICE_UNAVAILABLE, failed)
                    : Reply.ok(Map.of("status", "ok")));
            }
            case "reload" -> {
                expect(m, HttpMethod.POST, p, 1);
                return reload();
            }
            case "pools" -> {
                return pools(m, p, req);
            }
            case "members" -> {
                return done(get(m, p, 1, this::members));
            }
            case "mesh" -> {
                return done(get(m, p, 1, () -> MeshReport.of(node)));
            }
            case "ui" -> {
                expect(m, HttpMethod.GET, p, 1);
                return done(new Reply(HttpResponseStatus.OK, page(), "text/html; charset=utf-8"));
            }
            case "fault" -> {
                return done(fault(m, p, req));
            }
            default -> throw new ApiException(HttpResponseStatus.NOT_FOUND, "no such endpoint: " + qs.rawPath());
        }
    }

    /** The live mesh page: one self-contained HTML file (no CDN, no build step), read once. */
    private static String page() throws java.io.IOException {
        String p = pageText;
        if (p == null) {
            try (var in = AdminServer.class.getResourceAsStream("mesh.html")) {
                if (in == null) {
                    throw new java.io.IOException("mesh.html is missing from the build");
                }
                p = pageText = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
        }
        return p;
    }

    private static volatile String pageText;

    private static CompletableFuture<Reply> done(Reply r) {
        return CompletableFuture.completedFuture(r);
    }

    private interface Query {
        Object get() throws Exception;
    }

    private static Reply get(HttpMethod m, List<String> p, int segments, Query q) throws Exception {
        expect(m, HttpMethod.GET, p, segments);
        return Reply.ok(q.get());
    }

    private static void expect(HttpMethod m, HttpMethod wanted, List<String> p, int segments) throws ApiException {
        if (p.size() != segments) {
            throw new ApiException(HttpResponseStatus.NOT_FOUND, "no such endpoint: /" + String.join("/", p));
        }
        if (!m.equals(wanted)) {
            throw new ApiException(HttpResponseStatus.METHOD_NOT_ALLOWED, m + " not allowed here; use " + wanted);
        }
    }

    private Object members() throws Exception {
        io.l4mesh.node.mesh.Mesh mesh = node.mesh();
        ObjectNode n = JSON.createObjectNode();
        n.put("mesh", mesh != null);
        if (mesh == null) {
            n.putArray("members");
            return n;
        }
        n.put("node", node.config().nodeId());
        n.set("members", JSON.valueToTree(mesh.members()));     // published state: no control-thread wait
        n.set("divergence", JSON.valueToTree(mesh.divergence()));
        return n;
    }

    /**
     * The fault seams (tests and the chaos suite), only with {@code membership.faultInjection: true}:
     * {@code GET /fault} shows them, {@code DELETE /fault} turns them all off, and each has its own resource:
     * <pre>
     * POST /fault/partition {"block": ["host:port", ...]}    gossip to and from those members is dropped
     * POST /fault/gossip    {"loss": 0.2, "delayMs": 0}       a share of its gossip frames lost, the rest delayed
     * POST /fault/health    {"down": ["pool/host:port", ...]} this node's probes of those backends fail
     * POST /fault/sync      {"loss": 0.2}                     a share of flow-sync datagrams lost (NAKs recover them)
     * DELETE /fault/partition | /fault/gossip | /fault/health | /fault/sync
     * </pre>
     */
    private Reply fault(HttpMethod m, List<String> p, FullHttpRequest req) throws Exception {
        if (node.mesh() == null || !node.config().mesh().faultInjection()) {
            throw new ApiException(HttpResponseStatus.NOT_FOUND, "fault injection is off (membership.faultInjection)");
        }
        io.l4mesh.node.fault.FaultInjector f = node.faults();
        if (p.size() == 1) {
            if (m.equals(HttpMethod.DELETE)) {
                f.clear();
                Log.info(LOG, "fault.cleared");
            } else {
                expect(m, HttpMethod.GET, p, 1);
            }
            return Reply.ok(f.state());
        }
        if (p.size() != 2) {
            throw new ApiException(HttpResponseStatus.NOT_FOUND, "no such endpoint: /" + String.join("/", p));
        }
        String seam = p.get(1);
        if (!List.of("partition", "gossip", "health", "sync").contains(seam)) {
            throw new ApiException(HttpResponseStatus.NOT_FOUND, "no such endpoint: /" + String.join("/", p));
        }
        if (m.equals(HttpMethod.DELETE)) {
            switch (seam) {
                case "partition" -> f.partition(java.util.Set.of());
                case "gossip" -> f.gossipLoss(0, 0);
                case "health" -> f.healthDown(java.util.Set.of());
                default -> f.syncLoss(0);
            }
            Log.info(LOG, "fault.healed", "seam", seam);
            return Reply.ok(f.state());
        }
        expect(m, HttpMethod.POST, p, 2);
        JsonNode body = body(req);
        switch (seam) {
            case "partition" -> {
                java.util.Set<String> set = new java.util.TreeSet<>();
                for (String a : strings(body, "block", "host:port")) {
                    set.add(canonical(a));
                }
                f.partition(set);
                Log.info(LOG, "fault.partition", "blocked", set);
            }
            case "health" -> {
                java.util.Set<String> set = new java.util.TreeSet<>();
                for (String d : strings(body, "down", "pool/host:port")) {
                    int slash = d.indexOf('/');
                    if (slash <= 0) {
                        throw new ApiException(HttpResponseStatus.BAD_REQUEST, "'" + d + "' is not pool/host:port");
                    }
                    set.add(d.substring(0, slash) + "/" + canonical(d.substring(slash + 1)));
                }
                f.healthDown(set);
                Log.info(LOG, "fault.health", "down", set);
            }
            case "gossip" -> {
                double loss = share(body);
                JsonNode delay = body.path("delayMs");
                if (!delay.isMissingNode() && !delay.canConvertToLong()) {
                    throw new ApiException(HttpResponseStatus.BAD_REQUEST, "delayMs must be a whole number");
                }
                f.gossipLoss(loss, delay.asLong(0));
                Log.info(LOG, "fault.gossip", "loss", loss, "delay_ms", delay.asLong(0));
            }
            default -> {
                double loss = share(body);
                f.syncLoss(loss);
                Log.info(LOG, "fault.sync", "loss", loss);
            }
        }
        return Reply.ok(f.state());
    }

    /** The strings of array field {@code name}; {@code what} names an element's form in the error. */
    private static List<String> strings(JsonNode body, String name, String what) throws ApiException {
        JsonNode a = body.get(name);
        if (a == null || !a.isArray()) {
            throw new ApiException(HttpResponseStatus.BAD_REQUEST, "body needs {\"" + name + "\": [\"" + what
                + "\", ...]}");
        }
        List<String> out = new ArrayList<>();
        for (JsonNode e : a) {
            if (!e.isTextual()) {
                throw new ApiException(HttpResponseStatus.BAD_REQUEST, name + ": each element is a \"" + what
                    + "\" string");
            }
            out.add(e.asText());
        }
        return out;
    }

    /** The {@code loss} field: a share in 0..1. */
    private static double share(JsonNode body) throws ApiException {
        JsonNode l = body.get("loss");
        if (l == null || !l.isNumber() || !(l.asDouble() >= 0 && l.asDouble() <= 1)) {
            throw new ApiException(HttpResponseStatus.BAD_REQUEST, "body needs {\"loss\": <share 0..1>}");
        }
        return l.asDouble();
    }

    private Object flows() throws Exception {
        NodeStatus s = node.status();
        ObjectNode n = JSON.createObjectNode();
        n.put("flows", s.flows());
        ObjectNode per = n.putObject("listeners");
        s.listeners().forEach(l -> per.put(l.name(), l.active()));
        return n;
    }

    private Object lookup(Map<String, List<String>> params) throws ApiException {
        String listener = param(params, "listener", true);
        InetSocketAddress src = address("src", param(params, "src", true));
        String dstText = param(params, "dst", false);
        return node.lookup(listener, src, dstText == null ? null : address("dst", dstText));
    }

    private static String param(Map<String, List<String>> params, String name, boolean required) throws ApiException {
        List<String> v = params.get(name);
        if (v == null || v.isEmpty() || v.get(0).isEmpty()) {
            if (required) {
                throw new ApiException(HttpResponseStatus.BAD_REQUEST, "query parameter '" + name + "' is required");
            }
            return null;
        }
        return v.get(0);
    }

    private static InetSocketAddress address(String name, String text) throws ApiException {
        HostPort hp = HostPort.parse(text, true);
        if (hp == null || !hp.isLiteral()) {
            throw new ApiException(HttpResponseStatus.BAD_REQUEST, name + ": '" + text + "' is not ip:port");
        }
        try {
            return hp.resolve();
        } catch (Exception e) {
            throw new ApiException(HttpResponseStatus.BAD_REQUEST, name + ": '" + text + "' is not ip:port");
        }
    }

    private CompletableFuture<Reply> reload() {
        if (node.config().source() == null) {
            return done(Reply.error(HttpResponseStatus.CONFLICT, "this node was not started from a config file"));
        }
        return node.reloadFromFile().handle((source, e) -> {
            if (e == null) {
                return Reply.ok(Map.of("reloaded", source));
            }
            Throwable c = e instanceof java.util.concurrent.CompletionException && e.getCause() != null
                ? e.getCause() : e;
            return Reply.error(HttpResponseStatus.BAD_REQUEST, (c instanceof ConfigException ? c.getMessage()
                : "reload failed: " + c.getMessage()) + " (nothing changed)");
        });
    }

    /** /pools/P/backends[/ADDR[/weight|drain|undrain]] */
    private CompletableFuture<Reply> pools(HttpMethod m, List<String> p, FullHttpRequest req) throws Exception {
        if (p.size() < 3 || !p.get(2).equals("backends")) {
            if (p.size() == 2 && m.equals(HttpMethod.GET)) {
                String name = p.get(1);
                return done(Reply.ok(node.status().pools().stream().filter(x -> x.name().equals(name)).findFirst()
                    .orElseThrow(() -> new ApiException(HttpResponseStatus.NOT_FOUND, "no pool named '" + name + "'"))));
            }
            throw new ApiException(HttpResponseStatus.NOT_FOUND, "no such endpoint: /" + String.join("/", p));
        }
        String poolName = p.get(1);
        if (p.size() == 3) {
            if (m.equals(HttpMethod.GET)) {
                return pools(HttpMethod.GET, List.of("pools", poolName), req);
            }
            expect(m, HttpMethod.POST, p, 3);
            JsonNode any = json(req);
            if (any.isArray()) {
                return addAll(poolName, any);
            }
            JsonNode body = body(req);
            BackendConfig b;
            try {
                b = ConfigLoader.backend("backend", body);
            } catch (ConfigException e) {
                throw new ApiException(HttpResponseStatus.BAD_REQUEST, e.getMessage().replaceFirst("^config: ", ""));
            }
            return node.addBackends(poolName, List.of(b)).thenApply(x -> {
                Log.info(LOG, "backend.added", "pool", poolName, "backend", b.id(), "weight", b.weight());
                return new Reply(HttpResponseStatus.CREATED, Map.of("pool", poolName, "backend", b.id(),
                    "weight", b.weight(), "draining", b.draining()), "application/json");
            });
        }
        String id = canonical(p.get(3));
        if (p.size() == 4) {
            expect(m, HttpMethod.DELETE, p, 4);
            return node.changeBackend(poolName, id, -1, null, true).thenApply(x -> {
                Log.info(LOG, "backend.removed_by_api", "pool", poolName, "backend", id);
                return Reply.ok(Map.of("pool", poolName, "removed", id));
            });
        }
        String action = p.get(4);
        switch (action) {
            case "weight" -> {
                if (!m.equals(HttpMethod.PUT) && !m.equals(HttpMethod.POST)) {
                    throw new ApiException(HttpResponseStatus.METHOD_NOT_ALLOWED, m + " not allowed here; use PUT");
                }
                JsonNode w = body(req).get("weight");
                if (w == null || !w.isIntegralNumber() || !w.canConvertToInt()) {
                    throw new ApiException(HttpResponseStatus.BAD_REQUEST, "body needs {\"weight\": <whole number>}");
                }
                String bad = BackendConfig.weightError(w.intValue());
                if (bad != null) {
                    throw new ApiException(HttpResponseStatus.BAD_REQUEST, bad);
                }
                int weight = w.intValue();
                return node.changeBackend(poolName, id, weight, null, false).thenApply(x -> {
                    Log.info(LOG, "backend.weight", "pool", poolName, "backend", id, "weight", weight);
                    return Reply.ok(Map.of("pool", poolName, "backend", id, "weight", weight));
                });
            }
            case "drain", "undrain" -> {
                expect(m, HttpMethod.POST, p, 5);
                boolean drain = action.equals("drain");
                return node.changeBackend(poolName, id, -1, drain, false).thenApply(x -> {
                    Log.info(LOG, drain ? "backend.drain" : "backend.undrain", "pool", poolName, "backend", id);
                    return Reply.ok(Map.of("pool", poolName, "backend", id, "draining", drain));
                });
            }
            default -> throw new ApiException(HttpResponseStatus.NOT_FOUND, "no such endpoint: /" + String.join("/", p));
        }
    }

    /** The canonical id of a backend named in a path: {@code 10.0.0.1:80} or {@code [fd00::1]:80}. */
    private static String canonical(String id) throws ApiException {
        HostPort hp = HostPort.parse(id, false);
        if (hp == null) {
            throw new ApiException(HttpResponseStatus.BAD_REQUEST, "'" + id + "' is not host:port");
        }
        return hp.toString();
    }

    /**
     * {@code POST /pools/P/backends [{"address": ...}, ...]}: several backends added as one change (all or none; one
     * table rebuild per node, one gossip message).
     */
    private CompletableFuture<Reply> addAll(String poolName, JsonNode array) throws ApiException {
        if (array.isEmpty() || array.size() > 10_000) {
            throw new ApiException(HttpResponseStatus.BAD_REQUEST, "a list of 1 to 10000 backends");
        }
        List<BackendConfig> adds = new ArrayList<>();
        for (int i = 0; i < array.size(); i++) {
            try {
                adds.add(ConfigLoader.backend("backends[" + i + "]", array.get(i)));
            } catch (ConfigException e) {
                throw new ApiException(HttpResponseStatus.BAD_REQUEST, e.getMessage().replaceFirst("^config: ", ""));
            }
        }
        List<String> ids = adds.stream().map(BackendConfig::id).toList();
        return node.addBackends(poolName, adds).thenApply(x -> {
            Log.info(LOG, "backend.added", "pool", poolName, "backends", ids);
            return new Reply(HttpResponseStatus.CREATED, Map.of("pool", poolName, "added", ids), "application/json");
        });
    }

    /** The body as any JSON value. */
    private static JsonNode json(FullHttpRequest req) throws ApiException {
        try {
            JsonNode n = JSON.readTree(req.content().toString(StandardCharsets.UTF_8));
            if (n == null) {
                throw new ApiException(HttpResponseStatus.BAD_REQUEST, "body must be a JSON object or list");
            }
            return n;
        } catch (ApiException e) {
            throw e;
        } catch (Exception e) {
            throw new ApiException(HttpResponseStatus.BAD_REQUEST, "body is not valid JSON");
        }
    }

    private static JsonNode body(FullHttpRequest req) throws ApiException {
        String text = req.content().toString(StandardCharsets.UTF_8);
        try {
            JsonNode n = JSON.readTree(text);
            if (n == null || !n.isObject()) {
                throw new ApiException(HttpResponseStatus.BAD_REQUEST, "body must be a JSON object");
            }
            return n;
        } catch (ApiException e) {
            throw e;
        } catch (Exception e) {
            throw new ApiException(HttpResponseStatus.BAD_REQUEST, "body is not valid JSON");
        }
    }
}
