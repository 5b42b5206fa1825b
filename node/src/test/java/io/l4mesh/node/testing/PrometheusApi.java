package io.l4mesh.node.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.l4mesh.node.metrics.DashboardQueries;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** A Prometheus server's HTTP API on 127.0.0.1, as the tests that start one read it. */
public final class PrometheusApi {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final int port;

    public PrometheusApi(int port) {
        this.port = port;
    }

    /** GET {@code path}: the JSON answer, or an empty object when Prometheus does not answer. */
    public JsonNode get(String path) {
        try {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
            return JSON.readTree(r.body());
        } catch (Exception e) {
            return JSON.createObjectNode();
        }
    }

    /** An instant query's whole answer ({@code status}, {@code data}, {@code error}). */
    public JsonNode instant(String promql) {
        return get("/api/v1/query?query=" + URLEncoder.encode(promql, StandardCharsets.UTF_8));
    }

    /** An instant query's result vector. */
    public JsonNode query(String promql) {
        return instant(promql).path("data").path("result");
    }

    /** The value of the first sample of {@code promql}, as Prometheus prints it, or "" when there is none. */
    public String value(String promql) {
        return query(promql).path(0).path("value").path(1).asText();
    }

    /** Loaded rules that fail to evaluate, as "name: error"; {@code loaded} receives how many rules are loaded. */
    public List<String> badRules(int[] loaded) {
        List<String> bad = new ArrayList<>();
        for (JsonNode g : get("/api/v1/rules").path("data").path("groups")) {
            for (JsonNode r : g.path("rules")) {
                loaded[0]++;
                if (!r.path("health").asText().equals("ok") && !r.path("health").asText().equals("unknown")) {
                    bad.add(r.path("name").asText() + ": " + r.path("lastError").asText());
                }
            }
        }
        return bad;
    }

    /** What every shipped dashboard panel gives here: queries Prometheus refuses, and those without data. */
    public record Panels(int queries, List<String> refused, List<String> empty) {
    }

    /**
     * Runs every panel query of the dashboards in {@code dir}; each must be valid. Against a proxy-mode mesh
     * ({@code packetMode} false) every panel that does not read only packet-mode metrics must have data; against a
     * packet-mode one, every panel that does. Together the two runs cover every panel.
     */
    public Panels panels(Path dir, boolean packetMode) {
        List<String> refused = new ArrayList<>();
        List<String> empty = new ArrayList<>();
        List<DashboardQueries.Query> all = DashboardQueries.all(dir);
        for (DashboardQueries.Query q : all) {
            JsonNode r = instant(q.expr());
            if (!r.path("status").asText().equals("success")) {
                refused.add(q + " -> " + r.path("error").asText());
            } else if (r.path("data").path("result").isEmpty()
                && DashboardQueries.packetOnly(dir, q.expr()) == packetMode) {
                empty.add(q.toString());
            }
        }
        return new Panels(all.size(), refused, empty);
    }
}
