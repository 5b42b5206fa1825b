package io.l4mesh.node.health;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.l4mesh.node.Node;
import io.l4mesh.node.admin.AdminClient;
import io.l4mesh.node.testing.Await;
import io.l4mesh.node.testing.TcpTestServer;
import io.l4mesh.node.testing.TestNodes;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Health checks with a request and an expected answer: a backend that accepts connections but never answers (hung)
 * passes a bare connect check and fails a send/expect one; one that answers passes both; a banner check needs no
 * request.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HealthCheckTest {
    private static String health(AdminClient api, String pool) throws Exception {
        return api.get("/pools/" + pool).json().path("backends").get(0).path("localHealth").asText();
    }

    @Test
    void aBackendThatAcceptsButNeverAnswersFailsSendExpect() throws Exception {
        // hung: the socket is accepted and held, nothing is ever written back
        try (TcpTestServer hung = new TcpTestServer("hung", (s, srv) -> {
            s.getInputStream().readAllBytes();
        }); TcpTestServer echo = TcpTestServer.named("echo");
             TcpTestServer banner = new TcpTestServer("banner", (s, srv) -> {
                 s.getOutputStream().write("220 ready\r\n".getBytes());
                 s.getInputStream().readAllBytes();
             })) {
            String check = "healthCheck: {interval: 100ms, timeout: 100ms, rise: 1, fall: 1";
            try (Node node = TestNodes.start("""
                admin: {bind: 127.0.0.1:0}
                listeners: [{name: t, bind: 127.0.0.1:0, protocol: tcp, pool: connect}]
                pools:
                  connect: {backends: [%1$s], %2$s}}
                  expect: {backends: [%1$s], %2$s, send: "ping\\n", expect: "ping"}}
                  answers: {backends: [%3$s], %2$s, send: "ping\\n", expect: "echo ping"}}
                  banner: {backends: [%4$s], %2$s, expect: "220 "}}
                """.formatted(hung.address(), check, echo.address(), banner.address()))) {
                AdminClient api = new AdminClient(TestNodes.admin(node));
                Await.until(Duration.ofSeconds(10), "the hung backend fails the send/expect check",
                    () -> {
                        try {
                            return health(api, "expect").equals("down");
                        } catch (Exception e) {
                            return false;
                        }
                    });
                Thread.sleep(500);   // several more probes of each
                assertEquals("up", health(api, "connect"), "a bare connect succeeds against a hung backend");
                assertEquals("up", health(api, "answers"), "a backend that answers passes");
                assertEquals("up", health(api, "banner"), "a banner is an answer without a request");
                String reason = api.get("/pools/expect").json().path("backends").get(0).path("localReason").asText();
                assertEquals(true, reason.contains("no answer in 100 ms"), reason);
            }
        }
    }
}
