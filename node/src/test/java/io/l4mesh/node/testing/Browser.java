package io.l4mesh.node.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Headless Chromium driven through chromedriver's WebDriver HTTP protocol (Debian packages {@code chromium} and
 * {@code chromium-driver}), with a fresh profile: open a page, run a script in it, read its console, take a
 * screenshot. No browser library: a handful of WebDriver calls over the JDK's HTTP client.
 */
public final class Browser implements AutoCloseable {
    public static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    public static final Path DRIVER = Path.of("/usr/bin/chromedriver");
    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final Process driver;
    private final String base;
    private final String session;

    /** Why this machine cannot run the browser tests, or null when it can. */
    public static String missing() {
        if (!Files.isExecutable(CHROMIUM)) {
            return "no " + CHROMIUM + " (Debian package chromium)";
        }
        if (!Files.isExecutable(DRIVER)) {
            return "no " + DRIVER + " (Debian package chromium-driver)";
        }
        return null;
    }

    /** Starts chromedriver on {@code port} and a headless browser whose profile lives in {@code profile}. */
    public Browser(int port, Path profile, Path log) throws Exception {
        driver = new ProcessBuilder(DRIVER.toString(), "--port=" + port, "--allowed-ips=127.0.0.1")
            .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        base = "http://127.0.0.1:" + port;
        Await.until(Duration.ofSeconds(20), "chromedriver listens", () -> {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return true;
            } catch (IOException e) {
                return false;
            }
        });
        ObjectNode options = JSON.createObjectNode().put("binary", CHROMIUM.toString());
        List<String> args = List.of("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1280,1100",
            "--user-data-dir=" + profile);
        args.forEach(options.putArray("args")::add);
        ObjectNode caps = JSON.createObjectNode();
        ObjectNode match = caps.putObject("capabilities").putObject("alwaysMatch");
        match.put("browserName", "chrome").set("goog:chromeOptions", options);
        match.putObject("goog:loggingPrefs").put("browser", "ALL");
        JsonNode r = call("POST", "/session", caps);
        session = r.path("value").path("sessionId").asText();
        if (session.isEmpty()) {
            close();
            throw new IOException("chromedriver started no session: " + r);
        }
    }

    private JsonNode call(String method, String path, JsonNode body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60))
            .header("Content-Type", "application/json");
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)));
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        JsonNode json = JSON.readTree(r.body());
        if (r.statusCode() != 200) {
            throw new IOException(method + " " + path + ": " + r.statusCode() + " " + json.path("value"));
        }
        return json;
    }

    /** Opens {@code url} and waits for it to load. */
    public void open(String url) throws Exception {
        call("POST", "/session/" + session + "/url", JSON.createObjectNode().put("url", url));
    }

    /** Runs {@code script} (a function body; {@code return} gives the value) in the page. */
    public JsonNode run(String script) throws Exception {
        ObjectNode body = JSON.createObjectNode().put("script", script);
        body.putArray("args");
        return call("POST", "/session/" + session + "/execute/sync", body).path("value");
    }

    /** The page's console messages since the last call (level and text), errors and warnings included. */
    public List<String> console() throws Exception {
        JsonNode r = call("POST", "/session/" + session + "/se/log", JSON.createObjectNode().put("type", "browser"));
        List<String> lines = new ArrayList<>();
        r.path("value").forEach(e -> lines.add(e.path("level").asText() + " " + e.path("message").asText()));
        return lines;
    }

    /** Saves a PNG of the window to {@code file}. */
    public void screenshot(Path file) throws Exception {
        String png = call("GET", "/session/" + session + "/screenshot", null).path("value").asText();
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.write(file, Base64.getDecoder().decode(png));
    }

    @Override
    public void close() {
        try {
            if (session != null) {
                call("DELETE", "/session/" + session, null);
            }
        } catch (Exception ignored) {
            // the browser is gone already: stop the driver anyway
        }
        driver.destroy();
        try {
            if (!driver.waitFor(10, TimeUnit.SECONDS)) {
                driver.destroyForcibly();
            }
        } catch (InterruptedException e) {
            driver.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
