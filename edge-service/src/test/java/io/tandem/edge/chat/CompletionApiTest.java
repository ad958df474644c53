package io.tandem.edge.chat;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.edge.EdgeTest;
import io.tandem.model.chat.ChatMessage;
import io.tandem.model.chat.ChatTemplate;
import io.tandem.model.engine.Engine;
import io.tandem.model.engine.EngineOptions;
import io.tandem.model.engine.LoadedModel;
import io.tandem.model.generate.GenerationRequest;
import io.tandem.model.sampling.SamplingParams;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.http.MediaType;
import org.springframework.test.web.reactive.server.WebTestClient;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

@EdgeTest
class CompletionApiTest {

    static final String PROMPT = "Once upon a time";
    static String expectedGreedy20;

    @Autowired
    WebTestClient client;

    final JsonMapper json = JsonMapper.builder().build();

    /** The engine's own greedy continuation of the chat template's rendering, computed apart from the service. */
    @BeforeAll
    static void greedyReference() {
        LoadedModel model = LoadedModel.embedded();
        String rendered = ChatTemplate.PLAIN.render(List.of(new ChatMessage(ChatMessage.Role.USER, PROMPT)));
        try (Engine engine = Engine.open(model, EngineOptions.defaults())) {
            expectedGreedy20 = engine.generate(new GenerationRequest(model.encodePrompt(rendered), 20, List.of(),
                    SamplingParams.greedy())).text();
        }
        assertThat(expectedGreedy20).startsWith(", there was a little girl");
    }

    static Map<String, Object> chat(String content, Object... extra) {
        Map<String, Object> body = new java.util.LinkedHashMap<>();
        body.put("model", "stories260K");
        body.put("messages", List.of(Map.of("role", "user", "content", content)));
        for (int i = 0; i < extra.length; i += 2) {
            body.put((String) extra[i], extra[i + 1]);
        }
        return body;
    }

    @Test
    void nonStreamingGreedyCompletionEqualsTheEngine() {
        JsonNode body = client.post().uri("/v1/chat/completions")
                .bodyValue(chat(PROMPT, "temperature", 0, "max_tokens", 20, "tandem", Map.of("trace", true)))
                .exchange()
                .expectStatus().isOk()
                .expectHeader().valueEquals("X-Tandem-Route", "local")
                .expectBody(JsonNode.class).returnResult().getResponseBody();
        assertThat(body.get("object").asString()).isEqualTo("chat.completion");
        assertThat(body.get("model").asString()).isEqualTo("stories260K");
        JsonNode choice = body.get("choices").get(0);
        assertThat(choice.get("message").get("role").asString()).isEqualTo("assistant");
        assertThat(choice.get("message").get("content").asString()).isEqualTo(expectedGreedy20);
        assertThat(choice.get("finish_reason").asString()).isEqualTo("length");
        assertThat(body.get("usage").get("prompt_tokens").asInt()).isEqualTo(5);
        assertThat(body.get("usage").get("completion_tokens").asInt()).isEqualTo(20);
        assertThat(body.get("usage").get("total_tokens").asInt()).isEqualTo(25);
        assertThat(body.get("tandem").get("route").asString()).isEqualTo("local");
        assertThat(body.get("tandem").get("reason").asString()).startsWith("the device has room");
        assertThat(body.get("tandem").get("warnings").isArray()).isTrue();
        // the decision trace: the rule, what else was considered and why not, and no text
        JsonNode trace = body.get("tandem").get("trace");
        assertThat(trace.get("rule").asString()).isEqualTo("LOCAL_CAPACITY");
        assertThat(trace.get("request_id").asString()).isEqualTo(body.get("id").asString());
        // a whole answer is "ok", not "cancelled" (next() cancels upstream as it takes the result)
        assertThat(trace.get("outcome").get("status").asString()).isEqualTo("ok");
        assertThat(trace.get("device").asString()).isEqualTo("kiosk-1");
        assertThat(trace.get("rejected").toString()).contains("this edge has no cloud link configured");
        assertThat(trace.get("outcome").get("completion_tokens").asInt()).isEqualTo(20);
        assertThat(io.tandem.edge.audit.AuditSchema.errors(trace.toString())).isEmpty();
    }

    @Test
    void streamingSendsRoleThenDeltasThenFinishThenUsageThenDone() {
        List<String> events = client.post().uri("/v1/chat/completions")
                .bodyValue(chat(PROMPT, "temperature", 0, "max_tokens", 20, "stream", true,
                        "stream_options", Map.of("include_usage", true), "tandem", Map.of("route", "local")))
                .exchange()
                .expectStatus().isOk()
                .expectHeader().valueEquals("X-Tandem-Route", "local")
                .expectHeader().contentTypeCompatibleWith(MediaType.TEXT_EVENT_STREAM)
                .returnResult(String.class).getResponseBody().collectList().block();
        assertThat(events.getLast()).isEqualTo("[DONE]");
        List<JsonNode> chunks = new ArrayList<>();
        for (String e : events.subList(0, events.size() - 1)) {
            chunks.add(json.readTree(e));
        }
        assertThat(chunks.getFirst().get("choices").get(0).get("delta").get("role").asString()).isEqualTo("assistant");
        StringBuilder text = new StringBuilder();
        JsonNode finish = null;
        JsonNode usage = null;
        for (JsonNode c : chunks) {
            assertThat(c.get("object").asString()).isEqualTo("chat.completion.chunk");
            if (c.get("usage") != null) {
                usage = c.get("usage");
                assertThat(c.get("choices")).isEmpty();
                continue;
            }
            JsonNode choice = c.get("choices").get(0);
            if (choice.get("delta").get("content") != null) {
                text.append(choice.get("delta").get("content").asString());
            }
            if (!choice.get("finish_reason").isNull()) {
                finish = c;
            }
        }
        assertThat(text.toString()).isEqualTo(expectedGreedy20);
        assertThat(chunks.size()).isGreaterThan(10);
        assertThat(finish.get("choices").get(0).get("finish_reason").asString()).isEqualTo("length");
        assertThat(finish.get("tandem").get("route").asString()).isEqualTo("local");
        assertThat(finish.get("tandem").get("reason").asString()).isEqualTo("local requested");
        assertThat(usage.get("completion_tokens").asInt()).isEqualTo(20);
        assertThat(chunks.stream().map(c -> c.get("id").asString()).distinct()).hasSize(1);
    }

    @Test
    void stopStringsAndMaxCompletionTokensBehaveAsOpenAiSays() {
        String firstWords = expectedGreedy20.substring(0, expectedGreedy20.indexOf(" little"));
        JsonNode stopped = client.post().uri("/v1/chat/completions")
                .bodyValue(chat(PROMPT, "temperature", 0, "max_tokens", 20, "stop", List.of(" little", "zzz")))
                .exchange().expectStatus().isOk().expectBody(JsonNode.class).returnResult().getResponseBody();
        assertThat(stopped.get("choices").get(0).get("message").get("content").asString()).isEqualTo(firstWords);
        assertThat(stopped.get("choices").get(0).get("finish_reason").asString()).isEqualTo("stop");

        JsonNode one = client.post().uri("/v1/chat/completions")
                .bodyValue(chat(PROMPT, "temperature", 0, "max_completion_tokens", 1, "max_tokens", 50))
                .exchange().expectStatus().isOk().expectBody(JsonNode.class).returnResult().getResponseBody();
        assertThat(one.get("usage").get("completion_tokens").asInt()).isEqualTo(1);
        assertThat(one.get("choices").get(0).get("finish_reason").asString()).isEqualTo("length");
    }

    @Test
    void seededSamplingIsReproducible() {
        Map<String, Object> request = chat(PROMPT, "temperature", 0.9, "top_p", 0.9, "seed", 1234, "max_tokens", 30);
        String a = client.post().uri("/v1/chat/completions").bodyValue(request).exchange()
                .expectBody(JsonNode.class).returnResult().getResponseBody().get("choices").get(0).get("message").get("content").asString();
        String b = client.post().uri("/v1/chat/completions").bodyValue(request).exchange()
                .expectBody(JsonNode.class).returnResult().getResponseBody().get("choices").get(0).get("message").get("content").asString();
        assertThat(a).isEqualTo(b).isNotEmpty();
    }

    @Test
    void textCompletionsAndModels() {
        JsonNode completion = client.post().uri("/v1/completions")
                .bodyValue(Map.of("model", "stories260K", "prompt", PROMPT, "temperature", 0, "max_tokens", 20))
                .exchange().expectStatus().isOk().expectBody(JsonNode.class).returnResult().getResponseBody();
        assertThat(completion.get("object").asString()).isEqualTo("text_completion");
        // a text completion continues the prompt itself: the same text as the chat template gives for one user message
        assertThat(completion.get("choices").get(0).get("text").asString()).isEqualTo(expectedGreedy20);

        List<String> streamed = client.post().uri("/v1/completions")
                .bodyValue(Map.of("prompt", PROMPT, "temperature", 0, "max_tokens", 20, "stream", true))
                .exchange().expectStatus().isOk().returnResult(String.class).getResponseBody().collectList().block();
        StringBuilder text = new StringBuilder();
        for (String e : streamed.subList(0, streamed.size() - 1)) {
            text.append(json.readTree(e).get("choices").get(0).get("text").asString());
        }
        assertThat(text.toString()).isEqualTo(expectedGreedy20);

        client.get().uri("/v1/models").exchange().expectStatus().isOk()
                .expectBody().jsonPath("$.object").isEqualTo("list").jsonPath("$.data[0].id").isEqualTo("stories260K");
    }
}
