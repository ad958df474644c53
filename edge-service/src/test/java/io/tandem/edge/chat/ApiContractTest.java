package io.tandem.edge.chat;

import static org.assertj.core.api.Assertions.assertThat;

import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import io.micrometer.core.instrument.MeterRegistry;
import io.tandem.edge.EdgeTest;
import io.tandem.edge.routing.Decision;
import io.tandem.edge.routing.RouteOutcome;
import io.tandem.model.chat.ChatMessage;
import io.tandem.model.chat.ChatTemplate;
import io.tandem.model.engine.Engine;
import io.tandem.model.engine.EngineOptions;
import io.tandem.model.engine.LoadedModel;
import io.tandem.model.generate.GenerationRequest;
import io.tandem.model.generate.GenerationResult;
import io.tandem.model.sampling.LogitRules;
import io.tandem.model.sampling.SamplingParams;
import io.tandem.model.sampling.TokenChoice;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.http.MediaType;
import org.springframework.test.web.reactive.server.WebTestClient;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Issue 14: what API users find. Every parameter honoured or refused, the defects they met fixed. */
@EdgeTest
class ApiContractTest {

    static final String PROMPT = "Once upon a time";
    static final String SCHEMA = """
            {"type":"object","properties":{
              "name":{"type":"string","maxLength":24},
              "age":{"type":"integer"},
              "happy":{"type":"boolean"},
              "pet":{"type":"object","properties":{"kind":{"type":"string","enum":["cat","dog","bird"]},
                     "legs":{"type":"integer"}},"required":["kind","legs"],"additionalProperties":false},
              "friends":{"type":"array","items":{"type":"string","maxLength":12},"maxItems":3}},
             "required":["name","age","happy","pet","friends"],"additionalProperties":false}""";

    static LoadedModel loaded;
    static Engine engine;

    @Autowired
    WebTestClient client;

    @Autowired
    MeterRegistry registry;

    final JsonMapper json = JsonMapper.builder().build();

    @BeforeAll
    static void open() {
        loaded = LoadedModel.embedded();
        engine = Engine.open(loaded, EngineOptions.defaults());
    }

    @AfterAll
    static void close() {
        engine.close();
    }

    static int[] chatPrompt(String content) {
        return loaded.encodePrompt(ChatTemplate.PLAIN.render(List.of(new ChatMessage(ChatMessage.Role.USER, content))));
    }

    static Map<String, Object> chat(Object... extra) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("messages", List.of(Map.of("role", "user", "content", PROMPT)));
        for (int i = 0; i < extra.length; i += 2) {
            body.put((String) extra[i], extra[i + 1]);
        }
        return body;
    }

    JsonNode post(Map<String, Object> body) {
        return client.mutate().responseTimeout(java.time.Duration.ofSeconds(60)).build().post().uri("/v1/chat/completions").bodyValue(body).exchange().expectStatus().isOk()
                .expectBody(JsonNode.class).returnResult().getResponseBody();
    }

    double count(String route, String outcome) {
        var c = registry.find("tandem.requests").tag("route", route).tag("outcome", outcome).counter();
        return c == null ? 0 : c.count();
    }

    JsonNode lastAudit() throws Exception {
        List<String> lines = Files.readAllLines(Path.of("target/test-audit.jsonl"));
        return json.readTree(lines.getLast());
    }

    // ---- defects ------------------------------------------------------------------------------

    @Test
    void completedAnswersAreOkInAuditAndMetricsOnBothPaths() throws Exception {
        double before = count("local", "ok");
        JsonNode body = post(chat("temperature", 0, "max_tokens", 5));
        Thread.sleep(50);
        JsonNode audit = lastAudit();
        assertThat(audit.get("request_id").asString()).isEqualTo(body.get("id").asString());
        assertThat(audit.get("outcome").get("status").asString()).isEqualTo("ok");
        assertThat(count("local", "ok")).isEqualTo(before + 1);

        String raw = new String(client.post().uri("/v1/chat/completions").bodyValue(chat("temperature", 0, "max_tokens", 5,
                "stream", true)).exchange().expectStatus().isOk().expectBody(byte[].class).returnResult()
                .getResponseBody(), StandardCharsets.UTF_8);
        Thread.sleep(50);
        assertThat(lastAudit().get("outcome").get("status").asString()).isEqualTo("ok");
        assertThat(count("local", "ok")).isEqualTo(before + 2);
        // SSE lines as OpenAI sends them: "data: " with a space
        assertThat(raw).startsWith("data: {").contains("\n\ndata: [DONE]").doesNotContain("data:{");
    }

    @Test
    void theTraceComesOnlyWhenAskedRouteReasonAndWarningsAlways() {
        JsonNode plain = post(chat("temperature", 0, "max_tokens", 3)).get("tandem");
        assertThat(plain.has("route")).isTrue();
        assertThat(plain.has("reason")).isTrue();
        assertThat(plain.get("warnings").isArray()).isTrue();
        assertThat(plain.has("trace")).isFalse();
        assertThat(post(chat("temperature", 0, "max_tokens", 3, "tandem", Map.of("trace", true))).get("tandem")
                .get("trace").get("rule").asString()).isNotEmpty();
        JsonNode viaHeader = client.post().uri("/v1/chat/completions").header("X-Tandem-Trace", "true")
                .bodyValue(chat("temperature", 0, "max_tokens", 3)).exchange().expectStatus().isOk()
                .expectBody(JsonNode.class).returnResult().getResponseBody();
        assertThat(viaHeader.get("tandem").get("trace").get("outcome").get("status").asString()).isEqualTo("ok");
    }

    @Test
    void anEscalatingAnswerThatStayedLocalSaysLocal() {
        Decision decision = new Decision(io.tandem.edge.chat.TandemOptions.Route.ESCALATE,
                Decision.Rule.LOCAL_FIRST_ESCALATE, "the device has room", null, List.of(),
                new Decision.Thresholds(0.7, -2, 0), new Decision.Estimates(1, 1, 1, 0, 0, 0), List.of());
        RouteOutcome stayed = new RouteOutcome(List.of());
        assertThat(CompletionController.answered(decision, stayed).route().label()).isEqualTo("local");
        assertThat(CompletionController.answered(decision, stayed).reason()).contains("cloud was not needed");
        RouteOutcome moved = new RouteOutcome(List.of());
        moved.escalated(7, "low confidence");
        assertThat(CompletionController.answered(decision, moved).route().label()).isEqualTo("escalate");
    }

    @Test
    void bodiesThatAreNotUtf8JsonAreRefusedInPlainWords() {
        double invalidLocal = count("local", "invalid");
        client.post().uri("/v1/chat/completions").contentType(MediaType.TEXT_PLAIN).bodyValue(json.writeValueAsString(chat()))
                .exchange().expectStatus().isEqualTo(415)
                .expectBody().jsonPath("$.detail").value(d -> assertThat((String) d).contains("must be JSON")
                        .contains("application/json").contains("text/plain"));
        byte[] latin1 = "{\"messages\":[{\"role\":\"user\",\"content\":\"caf\u00e9\"}]}".getBytes(StandardCharsets.ISO_8859_1);
        client.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON).bodyValue(latin1)
                .exchange().expectStatus().isBadRequest()
                .expectBody().jsonPath("$.detail").value(d -> assertThat((String) d).contains("not valid UTF-8"));
        String deep = "[".repeat(1200) + "]".repeat(1200);
        client.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON).bodyValue(deep)
                .exchange().expectStatus().isBadRequest()
                .expectBody().jsonPath("$.detail").value(d -> assertThat((String) d).contains("nested too deeply")
                        .doesNotContain("StreamReadConstraints"));
        client.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON).bodyValue("{\"messages\": [}")
                .exchange().expectStatus().isBadRequest()
                .expectBody().jsonPath("$.detail").value(d -> assertThat((String) d).contains("line 1")
                        .doesNotContain("StreamReadFeature").doesNotContain("INCLUDE_SOURCE"));
        client.get().uri("/v1/nothing").exchange().expectStatus().isNotFound()
                .expectBody().jsonPath("$.detail").value(d -> assertThat((String) d).contains("nothing at /v1/nothing")
                        .doesNotContain("static resource"));
        String huge = "{\"messages\":[{\"role\":\"user\",\"content\":\"" + "a".repeat(300_000) + "\"}]}";
        client.post().uri("/v1/chat/completions").contentType(MediaType.APPLICATION_JSON).bodyValue(huge)
                .exchange().expectStatus().isEqualTo(413)
                .expectBody().jsonPath("$.detail").value(d -> assertThat((String) d).contains("at most 256 KiB"));
        // refused before any route was chosen: not counted as a local answer
        assertThat(count("local", "invalid")).isEqualTo(invalidLocal);
        assertThat(count("none", "invalid")).isGreaterThanOrEqualTo(2);
    }

    @Test
    void everyOtherParameterIsRefusedByNameAndMetadataIsAccepted() {
        Map<String, String> refused = new LinkedHashMap<>();
        refused.put("frobnicate", "unknown parameter 'frobnicate'");
        refused.put("functions", "use tools");
        refused.put("audio", "text only");
        refused.put("prompt", "belongs to POST /v1/completions");
        for (var e : refused.entrySet()) {
            client.post().uri("/v1/chat/completions").bodyValue(chat(e.getKey(), "x")).exchange()
                    .expectStatus().isBadRequest()
                    .expectBody().jsonPath("$.parameter").isEqualTo(e.getKey())
                    .jsonPath("$.detail").value(d -> assertThat((String) d).contains(e.getValue()));
        }
        client.post().uri("/v1/chat/completions").bodyValue(chat("tandem", Map.of("rout", "cloud"))).exchange()
                .expectStatus().isBadRequest().expectBody().jsonPath("$.parameter").isEqualTo("tandem.rout");
        client.post().uri("/v1/chat/completions").bodyValue(chat("tools", List.of(Map.of("type", "function",
                "function", Map.of("name", "f", "parameters", Map.of("type", "object")))))).exchange()
                .expectStatus().isBadRequest().expectBody().jsonPath("$.parameter").isEqualTo("tools")
                .jsonPath("$.detail").value(d -> assertThat((String) d).contains("chat template renders no tools"));
        client.post().uri("/v1/completions").bodyValue(Map.of("prompt", "x", "best_of", 2)).exchange()
                .expectStatus().isBadRequest().expectBody().jsonPath("$.parameter").isEqualTo("best_of");
        post(chat("temperature", 0, "max_tokens", 2, "user", "kiosk-7", "metadata", Map.of("shop", "3"), "store", false));
        client.get().uri("/v1/models/stories260K").exchange().expectStatus().isOk()
                .expectBody().jsonPath("$.id").isEqualTo("stories260K").jsonPath("$.tandem.context_length").isEqualTo(512);
        client.get().uri("/v1/models/gpt-4o").exchange().expectStatus().isNotFound()
                .expectBody().jsonPath("$.type").isEqualTo("https://tandem.dev/problems/unknown-model");
    }

    // ---- honoured parameters --------------------------------------------------------------------

    @Test
    void nChoicesEachWithItsSeedWholeAndStreamed() {
        JsonNode body = post(chat("temperature", 1, "seed", 40, "max_tokens", 12, "n", 3));
        assertThat(body.get("choices")).hasSize(3);
        for (int i = 0; i < 3; i++) {
            String expected = engine.generate(new GenerationRequest(chatPrompt(PROMPT), 12, List.of(),
                    new SamplingParams(1f, 1f, 0, java.util.OptionalLong.of(40 + i)))).text();
            assertThat(body.get("choices").get(i).get("index").asInt()).isEqualTo(i);
            assertThat(body.get("choices").get(i).get("message").get("content").asString()).isEqualTo(expected);
        }
        assertThat(body.get("usage").get("completion_tokens").asInt()).isEqualTo(36);

        List<String> events = client.post().uri("/v1/chat/completions")
                .bodyValue(chat("temperature", 1, "seed", 40, "max_tokens", 12, "n", 3, "stream", true)).exchange()
                .expectStatus().isOk().returnResult(String.class).getResponseBody().collectList().block();
        StringBuilder[] texts = {new StringBuilder(), new StringBuilder(), new StringBuilder()};
        int finishes = 0;
        for (String e : events.subList(0, events.size() - 1)) {
            JsonNode choice = json.readTree(e).get("choices").get(0);
            JsonNode content = choice.get("delta").get("content");
            if (content != null) {
                texts[choice.get("index").asInt()].append(content.asString());
            }
            if (!choice.get("finish_reason").isNull()) {
                finishes++;
            }
        }
        assertThat(finishes).isEqualTo(3);
        for (int i = 0; i < 3; i++) {
            assertThat(texts[i].toString()).isEqualTo(body.get("choices").get(i).get("message").get("content").asString());
        }
    }

    @Test
    void logprobsWithTopAlternativesAreTheEnginesOwn() {
        GenerationResult reference = engine.generate(new GenerationRequest(chatPrompt(PROMPT), 6, List.of(),
                SamplingParams.greedy(), LogitRules.NONE, null, null, 5), io.tandem.model.generate.GenerationListener.NONE,
                () -> false);
        JsonNode content = post(chat("temperature", 0, "max_tokens", 6, "logprobs", true, "top_logprobs", 5))
                .get("choices").get(0).get("logprobs").get("content");
        assertThat(content).hasSize(6);
        for (int i = 0; i < 6; i++) {
            TokenChoice t = reference.tokens().get(i);
            JsonNode entry = content.get(i);
            assertThat(entry.get("logprob").asDouble()).isEqualTo(t.logprob(), org.assertj.core.data.Offset.offset(1e-6));
            assertThat(entry.get("top_logprobs")).hasSize(5);
            for (int k = 0; k < 5; k++) {
                assertThat(entry.get("top_logprobs").get(k).get("logprob").asDouble())
                        .isEqualTo(t.topLogprobs()[k], org.assertj.core.data.Offset.offset(1e-6));
                byte[] bytes = loaded.tokenizer().tokenBytes(t.topIds()[k]);
                assertThat(entry.get("top_logprobs").get(k).get("token").asString())
                        .isEqualTo(new String(bytes == null ? new byte[0] : bytes, StandardCharsets.UTF_8));
            }
            // greedy: the chosen token is the most likely one
            assertThat(t.topIds()[0]).isEqualTo(t.token());
        }
        // streamed too
        List<String> events = client.post().uri("/v1/chat/completions").bodyValue(chat("temperature", 0, "max_tokens", 6,
                "logprobs", true, "top_logprobs", 5, "stream", true)).exchange().expectStatus().isOk()
                .returnResult(String.class).getResponseBody().collectList().block();
        List<Double> streamed = new ArrayList<>();
        for (String e : events.subList(0, events.size() - 1)) {
            JsonNode lp = json.readTree(e).get("choices").get(0).get("logprobs");
            if (lp != null && !lp.isNull()) {
                lp.get("content").forEach(c -> streamed.add(c.get("logprob").asDouble()));
            }
        }
        assertThat(streamed).hasSize(6);
        for (int i = 0; i < 6; i++) {
            assertThat(streamed.get(i)).isEqualTo(reference.tokens().get(i).logprob(), org.assertj.core.data.Offset.offset(1e-6));
        }
    }

    @Test
    void logitBiasAndPenaltiesShapeTheAnswerAsTheEngineDoes() {
        int first = engine.generate(new GenerationRequest(chatPrompt(PROMPT), 1, List.of(), SamplingParams.greedy()))
                .tokens().getFirst().token();
        LogitRules rules = new LogitRules(Map.of(first, -100f), 0.5f, 0.8f);
        String expected = engine.generate(new GenerationRequest(chatPrompt(PROMPT), 20, List.of(), SamplingParams.greedy(),
                rules, null, null, 0), io.tandem.model.generate.GenerationListener.NONE, () -> false).text();
        String plain = engine.generate(new GenerationRequest(chatPrompt(PROMPT), 20, List.of(), SamplingParams.greedy())).text();
        JsonNode body = post(chat("temperature", 0, "max_tokens", 20, "logit_bias", Map.of(String.valueOf(first), -100),
                "presence_penalty", 0.5, "frequency_penalty", 0.8));
        String text = body.get("choices").get(0).get("message").get("content").asString();
        assertThat(text).isEqualTo(expected).isNotEqualTo(plain);
        client.post().uri("/v1/chat/completions").bodyValue(chat("logit_bias", Map.of("99999", 5))).exchange()
                .expectStatus().isBadRequest().expectBody().jsonPath("$.parameter").isEqualTo("logit_bias");
        client.post().uri("/v1/chat/completions").bodyValue(chat("presence_penalty", 3)).exchange()
                .expectStatus().isBadRequest().expectBody().jsonPath("$.parameter").isEqualTo("presence_penalty");
    }

    @Test
    void aLongConversationIsTrimmedToFitWithTheSystemMessageKept() {
        List<Map<String, String>> messages = new ArrayList<>();
        messages.add(Map.of("role", "system", "content", "Tell a story."));
        for (int i = 0; i < 12; i++) {
            messages.add(Map.of("role", "user", "content", "The little dog ran to the park and played with a ball " + i));
            messages.add(Map.of("role", "assistant", "content", "Once upon a time there was a happy cat who liked to"
                    + " play in the sun with her friends every day."));
        }
        messages.add(Map.of("role", "user", "content", "Then the sun went down"));
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("messages", messages);
        body.put("max_tokens", 256);
        body.put("temperature", 0);
        client.post().uri("/v1/chat/completions").bodyValue(body).exchange().expectStatus().isBadRequest()
                .expectBody().jsonPath("$.detail").value(d -> assertThat((String) d).contains("trim_history"));
        body.put("tandem", Map.of("trim_history", true));
        JsonNode answer = post(body);
        int trimmed = answer.get("tandem").get("trimmed_messages").asInt();
        assertThat(trimmed).isGreaterThan(0).isEven();
        assertThat(answer.get("usage").get("prompt_tokens").asInt() + 256).isLessThanOrEqualTo(512);
        // the system message and the last turn stayed: the prompt equals the rendering of what was kept
        List<ChatMessage> kept = new ArrayList<>();
        kept.add(new ChatMessage(ChatMessage.Role.SYSTEM, "Tell a story."));
        for (Map<String, String> m : messages.subList(1 + trimmed, messages.size())) {
            kept.add(new ChatMessage(ChatMessage.Role.parse(m.get("role")), m.get("content")));
        }
        assertThat(answer.get("usage").get("prompt_tokens").asInt())
                .isEqualTo(loaded.encodePrompt(ChatTemplate.PLAIN.render(kept)).length);
    }

    // ---- structured output --------------------------------------------------------------------

    @Test
    void jsonSchemaOutputParsesAndValidatesOverFiftySeedsAtTemperatureOne() {
        Schema validator = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12)
                .getSchema(SCHEMA, InputFormat.JSON);
        Map<String, Object> format = Map.of("type", "json_schema", "json_schema",
                Map.of("name", "person", "strict", true, "schema", json.readTree(SCHEMA)));
        TreeSet<String> distinct = new TreeSet<>();
        for (int seed = 0; seed < 50; seed++) {
            JsonNode body = post(chat("temperature", 1, "seed", seed, "max_tokens", 80, "response_format", format));
            String text = body.get("choices").get(0).get("message").get("content").asString();
            JsonNode parsed = json.readTree(text);
            assertThat(validator.validate(text, InputFormat.JSON)).as("seed %d: %s", seed, text).isEmpty();
            assertThat(parsed.get("pet").get("kind").asString()).isIn("cat", "dog", "bird");
            distinct.add(text);
        }
        assertThat(distinct.size()).as("sampling still samples").isGreaterThan(40);
        JsonNode object = post(chat("temperature", 1, "seed", 3, "max_tokens", 60,
                "response_format", Map.of("type", "json_object")));
        assertThat(json.readTree(object.get("choices").get(0).get("message").get("content").asString()).isObject()).isTrue();
        client.post().uri("/v1/chat/completions").bodyValue(chat("max_tokens", 5, "response_format", format)).exchange()
                .expectStatus().isBadRequest().expectBody().jsonPath("$.parameter").isEqualTo("max_tokens")
                .jsonPath("$.detail").value(d -> assertThat((String) d).contains("shortest form takes"));
        client.post().uri("/v1/chat/completions").bodyValue(chat("response_format", Map.of("type", "json_schema",
                "json_schema", Map.of("name", "x", "schema", Map.of("type", "object", "properties",
                        Map.of("a", Map.of("type", "string", "pattern", "^a")))))))
                .exchange().expectStatus().isBadRequest()
                .expectBody().jsonPath("$.parameter").isEqualTo("response_format.json_schema.schema.properties.a.pattern");
    }
}
