package io.l4mesh.node.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.l4mesh.node.config.HostPort;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;

/**
 * A small client of the admin API, for the CLI, the lab and tests: one HTTP/1.1 request per connection over a plain
 * socket. Not the JDK's {@code HttpClient}: building one initialises TLS (about 0.3 s of every CLI call), and the
 * admin API speaks plain HTTP on a local address.
 */
public final class AdminClient {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final int CONNECT_TIMEOUT_MS = 3000;
    /** Longer than the admin server's own wait for the control thread (30 s), so its answer is what is seen. */
    static final int READ_TIMEOUT_MS = 35_000;
    private final String hostPort;

    /** @param hostPort the admin API's address, for example {@code 127.0.0.1:9090} or {@code [::1]:9090} */
    public AdminClient(String hostPort) {
        this.hostPort = hostPort;
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

    /** One request; {@code body} (when not null) goes as JSON. */
    public Response send(String method, String path, Object body) throws IOException, InterruptedException {
        HostPort hp;
        try {
            hp = HostPort.parse(hostPort, false);
        } catch (RuntimeException e) {
            throw new IOException("not host:port: " + hostPort);
        }
        InetSocketAddress to = hp.tryResolve();
        if (to == null) {
            throw new IOException(hp.unresolvable());
        }
        try (Socket s = new Socket()) {
            s.connect(to, CONNECT_TIMEOUT_MS);
            s.setSoTimeout(READ_TIMEOUT_MS);
            return exchange(s, hostPort, method, path, body == null ? null : JSON.writeValueAsBytes(body));
        }
    }

    /**
     * Writes one request ({@code Connection: close}) on a connected socket and reads the whole answer. The lab
     * uses it on sockets it opens inside a node's namespace.
     */
    public static Response exchange(Socket s, String host, String method, String path, byte[] json)
        throws IOException {
        byte[] b = json == null ? new byte[0] : json;
        String head = method + " " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n"
            + (json == null ? "" : "Content-Type: application/json\r\n") + "Content-Length: " + b.length + "\r\n\r\n";
        OutputStream out = s.getOutputStream();
        out.write(head.getBytes(StandardCharsets.US_ASCII));
        out.write(b);
        out.flush();
        return parse(s.getInputStream());
    }

    /** An answer of the admin server: a status line, headers, and a body that ends where the connection does. */
    private static Response parse(InputStream in) throws IOException {
        String all = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        int end = all.indexOf("\r\n\r\n");
        if (!all.startsWith("HTTP/1.1 ") || end < 0 || all.length() < 12) {
            throw new IOException("not an HTTP response: " + all.lines().findFirst().orElse("(nothing)"));
        }
        int status;
        try {
            status = Integer.parseInt(all.substring(9, 12));
        } catch (NumberFormatException e) {
            throw new IOException("not an HTTP status line: " + all.lines().findFirst().orElse(""));
        }
        return new Response(status, all.substring(end + 4));
    }

    /** Encodes one path segment (backend addresses contain ':' and, for IPv6, brackets). */
    public static String segment(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }
}
