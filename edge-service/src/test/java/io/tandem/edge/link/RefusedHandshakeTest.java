package io.tandem.edge.link;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tandem.model.wire.WireLimits;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;

/**
 * A cloud that refuses the handshake because the device has its maximum of connections open (HTTP
 * 429 with Retry-After, as cloud-service's RawFrameUpgradeStrategy answers) is left alone for the
 * time it asks, capped at the longest backoff, instead of the short first backoff.
 */
class RefusedHandshakeTest {

    @Test
    void aRefusalWithRetryAfterIsHonouredUpToTheLongestBackoff() {
        AtomicInteger attempts = new AtomicInteger();
        DisposableServer busyCloud = HttpServer.create().host("127.0.0.1").port(0)
                .route(routes -> routes.get("/v1/agent", (request, response) -> {
                    attempts.incrementAndGet();
                    return response.status(429).header("Retry-After", "30")
                            .header("Content-Type", "application/problem+json")
                            .sendString(reactor.core.publisher.Mono.just("{\"status\":429}"));
                }))
                .bindNow();
        CloudLink link = new CloudLink(URI.create("ws://127.0.0.1:" + busyCloud.port() + "/v1/agent"),
                () -> new CloudLink.AgentToken("token", Instant.now().plusSeconds(600)), WireLimits.DEFAULT,
                Duration.ofSeconds(5), Duration.ofMillis(200), Duration.ofSeconds(20), Clock.systemUTC(), (k, b) -> { });
        try {
            assertThatThrownBy(link::openSession).isInstanceOf(LinkException.class)
                    .hasMessageContaining("HTTP 429").hasMessageContaining("maximum of connections")
                    .hasMessageContaining("retry after 30 s");
            // asked for 30 s, capped at the 20 s longest backoff: not the 200 ms first backoff
            assertThatThrownBy(link::openSession).isInstanceOf(LinkException.class)
                    .satisfies(e -> assertThat(nextAttemptMillis(e.getMessage())).isBetween(15_000L, 20_000L));
            assertThat(attempts.get()).isEqualTo(1);
        } finally {
            link.close();
            busyCloud.disposeNow();
        }
    }

    @Test
    void retryAfterIsReadAsSecondsOnly() {
        assertThat(LinkConnection.retryAfter("7")).isEqualTo(Duration.ofSeconds(7));
        assertThat(LinkConnection.retryAfter(" 12 ")).isEqualTo(Duration.ofSeconds(12));
        assertThat(LinkConnection.retryAfter(null)).isNull();
        assertThat(LinkConnection.retryAfter("Wed, 21 Oct 2015 07:28:00 GMT")).isNull();
        assertThat(LinkConnection.retryAfter("-5")).isNull();
    }

    private static long nextAttemptMillis(String message) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("next attempt in (\\d+) ms").matcher(message);
        assertThat(m.find()).as("a next attempt in: %s", message).isTrue();
        return Long.parseLong(m.group(1));
    }
}
