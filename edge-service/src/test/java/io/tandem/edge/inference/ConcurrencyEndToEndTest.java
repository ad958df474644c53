package io.tandem.edge.inference;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.MeterRegistry;
import io.tandem.edge.EdgeTest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.io.BufferedReader;
import java.net.Socket;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import io.tandem.model.checkpoint.Llama2cCheckpointWriter;
import io.tandem.model.llama.RandomWeights;
import java.nio.file.Path;

/**
 * With one slot and no queue: a second request while one streams gets 429 with Retry-After, and a
 * client that disconnects after three tokens stops its generation and frees the slot at once. The
 * model is a random one big enough (25M parameters) that a generation outlasts the test's steps;
 * the embedded one finishes 500 tokens before a client could read three.
 */
@EdgeTest(properties = {EdgeTest.CONFIG, EdgeTest.CONFIG_NAME, EdgeTest.AUDIT, "tandem.model.threads=1",
        "tandem.concurrency.max-active=1", "tandem.concurrency.max-queued=0", "tandem.concurrency.retry-after=2s"})
class ConcurrencyEndToEndTest {

    @DynamicPropertySource
    static void slowModel(DynamicPropertyRegistry registry) throws java.io.IOException {
        Path model = Llama2cCheckpointWriter.writeTemporary(RandomWeights.create(RandomWeights.STORIES_25M, 1), "slow.bin");
        registry.add("tandem.model.path", model::toString);
    }

    static final String LONG_STREAM = "{\"messages\":[{\"role\":\"user\",\"content\":\"Once upon a time\"}],"
            + "\"max_tokens\":500,\"temperature\":0.8,\"seed\":3,\"stream\":true}";

    @LocalServerPort
    int port;

    @Autowired
    LocalInference inference;

    @Autowired
    MeterRegistry registry;

    final HttpClient http = HttpClient.newHttpClient();

    HttpRequest post(String body) {
        return HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/v1/chat/completions"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }

    double tokensGenerated() {
        var counter = registry.find("tandem.tokens.generated").counter();
        return counter == null ? 0 : counter.count();
    }

    @Test
    void disconnectAfterThreeTokensFreesTheSlotAndABusySlotGets429() throws Exception {
        // a raw socket, so closing it is a real disconnect at the moment the test chooses
        Socket socket = new Socket("localhost", port);
        byte[] body = LONG_STREAM.getBytes(StandardCharsets.UTF_8);
        socket.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
                + "Content-Type: application/json\r\nContent-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        socket.getOutputStream().write(body);
        socket.getOutputStream().flush();
        BufferedReader reader = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
        assertThat(reader.readLine()).isEqualTo("HTTP/1.1 200 OK");
        int contentChunks = 0;
        // the role chunk comes first; then wait for three content deltas
        while (contentChunks < 3) {
            String line = reader.readLine();
            assertThat(line).as("stream ended early").isNotNull();
            if (line.startsWith("data:") && line.contains("\"content\":\"") && !line.contains("\"content\":\"\"")) {
                contentChunks++;
            }
        }
        // the slot is taken: another request is refused at once with Retry-After
        HttpResponse<String> refused = http.send(post(LONG_STREAM.replace("\"stream\":true", "\"stream\":false")),
                HttpResponse.BodyHandlers.ofString());
        assertThat(refused.statusCode()).isEqualTo(429);
        assertThat(refused.headers().firstValue("Retry-After")).hasValue("2");
        assertThat(refused.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).contains("application/problem+json"));
        assertThat(refused.body()).contains("\"type\":\"https://tandem.dev/problems/overloaded\"");

        long atClose = inference.tokensGenerated();
        socket.close();
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (inference.active() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertThat(inference.active()).isZero();
        // it stopped soon after the disconnect, far from the 500 tokens asked for
        long afterClose = inference.tokensGenerated() - atClose;
        System.out.printf("tokens generated after the client closed: %d (%d before)%n", afterClose, atClose);
        assertThat(afterClose).isLessThanOrEqualTo(3);
        assertThat(inference.tokensGenerated()).isLessThan(100);
        HttpResponse<String> next = http.send(post(LONG_STREAM.replace("500", "2")), HttpResponse.BodyHandlers.ofString());
        assertThat(next.statusCode()).isEqualTo(200);
        assertThat(next.body()).endsWith("data: [DONE]\n\n");
        assertThat(registry.find("tandem.requests").tag("outcome", "cancelled").counter().count()).isGreaterThanOrEqualTo(1);
        assertThat(registry.find("tandem.requests").tag("outcome", "rejected").counter().count()).isGreaterThanOrEqualTo(1);
    }
}
