package io.tandem.edge.chat;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.edge.EdgeTest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.web.server.LocalServerPort;

/**
 * The edge keeps no web session: Spring Security's default would create one per request, whose store
 * hands the rest of the request to Reactor's parallel threads, so that the thread subscribing to a stream,
 * the generation thread emitting into it and the connection's event loop requesting from it were three
 * (issue 13's stall hunt). Stateless, a stream is subscribed on its connection's event loop, and no
 * session cookie is sent.
 */
@EdgeTest
class StatelessStreamTest {

    @LocalServerPort
    int port;

    @Test
    void aStreamIsSubscribedOnItsConnectionsEventLoopAndNoSessionIsMade() throws Exception {
        AtomicReference<String> subscribedOn = new AtomicReference<>();
        CompletionController.streamProbe = (id, body) ->
                body.doOnSubscribe(s -> subscribedOn.set(Thread.currentThread().getName()));
        HttpResponse<String> response;
        try {
            response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
                    .timeout(Duration.ofSeconds(60))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
                            + "\"max_tokens\":4,\"stream\":true}"))
                    .build(), HttpResponse.BodyHandlers.ofString());
        } finally {
            CompletionController.streamProbe = null;
        }
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).contains("data: [DONE]");
        assertThat(subscribedOn.get()).as("the thread that subscribed to the stream").contains("-http-").doesNotStartWith("parallel-");
        assertThat(response.headers().allValues("Set-Cookie")).isEmpty();
    }
}
