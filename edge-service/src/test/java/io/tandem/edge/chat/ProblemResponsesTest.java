package io.tandem.edge.chat;

import io.tandem.edge.EdgeTest;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.http.MediaType;
import org.springframework.test.web.reactive.server.WebTestClient;
import java.util.stream.Stream;

/** Every malformed request gets an RFC 9457 problem naming what is wrong, and nothing runs. */
@EdgeTest
class ProblemResponsesTest {

    @Autowired
    WebTestClient client;

    static final String USER = "{\"role\":\"user\",\"content\":\"hi\"}";

    static Stream<Arguments> badRequests() {
        String longPrompt = "dog ".repeat(600);
        return Stream.of(
                Arguments.of("{bad json", 400, "invalid-request", "not valid JSON", null),
                Arguments.of("", 400, "invalid-request", "body is empty", null),
                Arguments.of("[1,2]", 400, "invalid-request", "must be a JSON object", null),
                Arguments.of("{}", 400, "invalid-request", "messages is required", "messages"),
                Arguments.of("{\"messages\":[]}", 400, "invalid-request", "must not be empty", "messages"),
                Arguments.of("{\"messages\":{\"role\":\"user\"}}", 400, "invalid-request", "must be an array", "messages"),
                Arguments.of("{\"messages\":[{\"role\":\"robot\",\"content\":\"x\"}]}", 400, "invalid-request", "unknown role 'robot'", "messages[0].role"),
                Arguments.of("{\"messages\":[{\"content\":\"x\"}]}", 400, "invalid-request", "role must be a string", "messages[0].role"),
                Arguments.of("{\"messages\":[{\"role\":\"user\",\"content\":5}]}", 400, "invalid-request", "must be a string", "messages[0].content"),
                Arguments.of("{\"messages\":[{\"role\":\"user\"}]}", 400, "invalid-request", "is required", "messages[0].content"),
                Arguments.of("{\"messages\":[" + USER + "],\"max_tokens\":0}", 400, "invalid-request", "at least 1", "max_tokens"),
                Arguments.of("{\"messages\":[" + USER + "],\"max_tokens\":\"ten\"}", 400, "invalid-request", "must be an integer", "max_tokens"),
                Arguments.of("{\"messages\":[" + USER + "],\"max_tokens\":1.5}", 400, "invalid-request", "must be an integer", "max_tokens"),
                Arguments.of("{\"messages\":[" + USER + "],\"max_tokens\":100000}", 400, "context-length-exceeded", "beyond the model's context of 512", "max_tokens"),
                Arguments.of("{\"messages\":[{\"role\":\"user\",\"content\":\"" + longPrompt + "\"}]}", 400, "context-length-exceeded", "context holds 512", "messages"),
                Arguments.of("{\"messages\":[" + USER + "],\"temperature\":\"hot\"}", 400, "invalid-request", "must be a number", "temperature"),
                Arguments.of("{\"messages\":[" + USER + "],\"temperature\":3}", 400, "invalid-request", "between 0 and 2", "temperature"),
                Arguments.of("{\"messages\":[" + USER + "],\"top_p\":0}", 400, "invalid-request", "top_p", "top_p"),
                Arguments.of("{\"messages\":[" + USER + "],\"stream\":\"yes\"}", 400, "invalid-request", "true or false", "stream"),
                Arguments.of("{\"messages\":[" + USER + "],\"stop\":[1]}", 400, "invalid-request", "stop[0] must be a string", "stop"),
                Arguments.of("{\"messages\":[" + USER + "],\"seed\":\"x\"}", 400, "invalid-request", "seed must be an integer", "seed"),
                Arguments.of("{\"messages\":[" + USER + "],\"model\":\"gpt-4o\"}", 404, "unknown-model", "'gpt-4o' is not served here", "model"),
                Arguments.of("{\"messages\":[" + USER + "],\"tandem\":{\"route\":\"split\"}}", 503, "route-unavailable", "route split is not available", "tandem.route"),
                Arguments.of("{\"messages\":[" + USER + "],\"tandem\":{\"route\":\"cloud\"}}", 503, "route-unavailable", "route cloud is not available", "tandem.route"),
                Arguments.of("{\"messages\":[" + USER + "],\"tandem\":{\"route\":\"moon\"}}", 400, "invalid-request", "must be one of auto, local, split, cloud", "tandem.route"),
                Arguments.of("{\"messages\":[" + USER + "],\"tandem\":{\"sensitivity\":\"secret\"}}", 400, "invalid-request", "tandem.sensitivity", "tandem.sensitivity"),
                Arguments.of("{\"messages\":[" + USER + "],\"tandem\":{\"latency_slo_ms\":-5}}", 400, "invalid-request", "must be positive", "tandem.latency_slo_ms"));
    }

    @ParameterizedTest
    @MethodSource("badRequests")
    void badChatRequestsGetProblems(String body, int status, String type, String detail, String parameter) {
        for (boolean stream : new boolean[] {false, true}) {
            String sent = stream && body.startsWith("{\"messages\"") ? body.replaceFirst("\\{", "{\"stream\":true,") : body;
            var spec = client.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON).bodyValue(sent)
                    .exchange()
                    .expectStatus().isEqualTo(status)
                    .expectHeader().contentType(MediaType.APPLICATION_PROBLEM_JSON)
                    .expectBody()
                    .jsonPath("$.type").isEqualTo("https://tandem.dev/problems/" + type)
                    .jsonPath("$.status").isEqualTo(status)
                    .jsonPath("$.detail").value(d -> org.assertj.core.api.Assertions.assertThat((String) d).contains(detail));
            if (parameter != null) {
                spec.jsonPath("$.parameter").isEqualTo(parameter);
            }
        }
    }

    @org.junit.jupiter.api.Test
    void problemsCarryAnOpenAiErrorMemberAndFrameworkRefusalsKeepTheirStatus() {
        client.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"messages\":[],\"model\":\"x\"}").exchange()
                .expectStatus().isBadRequest()
                .expectBody()
                .jsonPath("$.error.message").isEqualTo("messages must not be empty")
                .jsonPath("$.error.type").isEqualTo("invalid-request")
                .jsonPath("$.error.param").isEqualTo("messages");
        client.get().uri("/no-such-page").exchange()
                .expectStatus().isNotFound()
                .expectHeader().contentType(MediaType.APPLICATION_PROBLEM_JSON)
                .expectBody().jsonPath("$.status").isEqualTo(404);
        client.get().uri("/v1/chat/completions").exchange()
                .expectStatus().isEqualTo(405)
                .expectHeader().valueMatches("Allow", ".*POST.*")
                .expectHeader().contentType(MediaType.APPLICATION_PROBLEM_JSON);
    }

    @ParameterizedTest
    @MethodSource("badCompletions")
    void badTextCompletionsGetProblems(Map<String, Object> body, String detail) {
        client.post().uri("/v1/completions").bodyValue(body).exchange()
                .expectStatus().isBadRequest()
                .expectHeader().contentType(MediaType.APPLICATION_PROBLEM_JSON)
                .expectBody().jsonPath("$.detail").value(d -> org.assertj.core.api.Assertions.assertThat((String) d).contains(detail));
    }

    static Stream<Arguments> badCompletions() {
        return Stream.of(
                Arguments.of(Map.of("prompt", 42), "prompt must be a string"),
                Arguments.of(Map.of("prompt", List.of("a", "b")), "prompt must be a string"),
                Arguments.of(Map.of("prompt", "x", "max_tokens", -1), "at least 1"));
    }
}
