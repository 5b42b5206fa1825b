package io.l4mesh.node.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/** A small client of the admin API, for the CLI and tests. */
public final class AdminClient {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();
    private final String base;

    /** @param hostPort the admin API's address, for example {@code 127.0.0.1:9090} */
    public AdminClient(String hostPort) {
        this.base = "http://" + hostPort;
    }

    /** A reply: HTTP status and body text. */
    public record Response(int status, String body) {
        public boolean ok() {
            return status / 100 == 2;
        }

        public JsonNode json() throws IOException {
            return JSON.readTree(body);
        }

        /** The {@code error} field of a failed reply, or the body. */
        public String error() {
            try {
                JsonNode e = json().get("error");
                return e != null ? e.asText() : body.strip();
            } catch (IOException ex) {
                return body.strip();
            }
        }
    }

    public Response get(String path) throws IOException, InterruptedException {
        return send("GET", path, null);
    }

    public Response send(String method, String path, Object body) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(35));
        if (body == null) {
            b.method(method, HttpRequest.BodyPublishers.noBody());
        } else {
            b.header("Content-Type", "application/json")
                .method(method, HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)));
        }
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        return new Response(r.statusCode(), r.body());
    }

    /** Encodes one path segment (backend addresses contain ':' and, for IPv6, brackets). */
    public static String segment(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }
}
