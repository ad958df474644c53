package io.tandem.edge.chat;

import static org.assertj.core.api.Assertions.assertThat;

import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import io.tandem.edge.EdgeTest;
import io.tandem.edge.clients.NodeClientsAccess;
import io.tandem.model.engine.LoadedModel;
import io.tandem.model.engine.ModelTokenizer;
import io.tandem.model.gguf.GgmlType;
import io.tandem.model.gguf.GgufModelWriter;
import io.tandem.model.gguf.GgufValue;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.reactive.server.WebTestClient;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Tool calls on a GGUF model whose chat template renders tools (the embedded model converted, with a
 * short Hermes-style template): the tools reach the prompt through the template, a required call is
 * decoded under the tool's parameter schema, and the answer carries OpenAI's tool_calls.
 */
@EdgeTest(properties = {EdgeTest.CONFIG, EdgeTest.CONFIG_NAME, EdgeTest.AUDIT, "tandem.model.threads=1"})
class ToolCallTest {

    static final String WEATHER = """
            {"type":"object","properties":{"city":{"type":"string","maxLength":20},
             "unit":{"type":"string","enum":["celsius","fahrenheit"]},"days":{"type":"integer"}},
             "required":["city","unit","days"],"additionalProperties":false}""";

    static Path file;

    @DynamicPropertySource
    static void ggufModel(DynamicPropertyRegistry registry) throws IOException {
        Path dir = Files.createTempDirectory("tandem-tools-edge");
        file = dir.resolve("stories260K-tools.gguf");
        LoadedModel embedded = LoadedModel.embedded();
        Map<String, GgufValue> vocabulary = new LinkedHashMap<>(
                GgufModelWriter.llama2cVocabulary(((ModelTokenizer.Llama2c) embedded.tokenizer()).tokenizer()));
        // Hermes-style like Qwen2.5's (tools as JSON lines, calls in tool_call tags) but short: Qwen2.5's own
        // system text alone is longer than the story model's 512-token context
        String template = "{%- if tools %}Tools:\n{% for tool in tools %}{{ tool.function | tojson }}\n{% endfor %}"
                + "Call one as <tool_call>{\"name\": ..., \"arguments\": ...}</tool_call>\n{% endif %}"
                + "{%- for message in messages %}{{ message.role }}: {{ message.content }}\n{% endfor %}"
                + "{%- if add_generation_prompt %}assistant: {% endif %}";
        vocabulary.put("tokenizer.chat_template", GgufValue.string(template));
        GgufModelWriter.write(file, "stories260K-tools", embedded.weights(), vocabulary, GgmlType.F32);
        file.toFile().deleteOnExit();
        dir.toFile().deleteOnExit();
        registry.add("tandem.model.path", file::toString);
    }

    @Autowired
    WebTestClient client;

    @LocalServerPort
    int port;

    final JsonMapper json = JsonMapper.builder().build();

    Map<String, Object> request(Object toolChoice, int seed, boolean stream) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("messages", List.of(Map.of("role", "user", "content", "What is the weather in Paris?")));
        body.put("tools", List.of(
                Map.of("type", "function", "function", Map.of("name", "get_weather", "description", "The forecast",
                        "parameters", json.readTree(WEATHER))),
                Map.of("type", "function", "function", Map.of("name", "get_time", "parameters",
                        Map.of("type", "object", "properties", Map.of("zone", Map.of("type", "string")), "required",
                                List.of("zone"))))));
        body.put("tool_choice", toolChoice);
        body.put("temperature", 1);
        body.put("seed", seed);
        body.put("max_tokens", 80);
        body.put("stream", stream);
        return body;
    }

    @Test
    void aRequiredCallIsDecodedUnderTheToolsSchema() {
        Schema schema = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12).getSchema(WEATHER, InputFormat.JSON);
        Map<String, Object> named = Map.of("type", "function", "function", Map.of("name", "get_weather"));
        for (int seed = 0; seed < 10; seed++) {
            JsonNode body = client.mutate().responseTimeout(java.time.Duration.ofSeconds(60)).build().post()
                    .uri("/v1/chat/completions").bodyValue(request(named, seed, false)).exchange().expectStatus().isOk()
                    .expectBody(JsonNode.class).returnResult().getResponseBody();
            JsonNode choice = body.get("choices").get(0);
            assertThat(choice.get("finish_reason").asString()).isEqualTo("tool_calls");
            assertThat(choice.get("message").get("content").isNull()).isTrue();
            JsonNode call = choice.get("message").get("tool_calls").get(0);
            assertThat(call.get("type").asString()).isEqualTo("function");
            assertThat(call.get("id").asString()).startsWith("call_");
            assertThat(call.get("function").get("name").asString()).isEqualTo("get_weather");
            String arguments = call.get("function").get("arguments").asString();
            assertThat(schema.validate(arguments, InputFormat.JSON)).as("seed %d: %s", seed, arguments).isEmpty();
        }
        // "required" lets the model pick the tool; streamed, the call comes as one tool_calls delta
        List<String> events = client.mutate().responseTimeout(java.time.Duration.ofSeconds(60)).build().post()
                .uri("/v1/chat/completions").bodyValue(request("required", 3, true)).exchange().expectStatus().isOk()
                .returnResult(String.class).getResponseBody().collectList().block();
        JsonNode callDelta = null;
        String finish = null;
        for (String e : events.subList(0, events.size() - 1)) {
            JsonNode c = json.readTree(e).get("choices").get(0);
            if (c.get("delta").has("tool_calls")) {
                callDelta = c.get("delta").get("tool_calls").get(0);
            }
            if (!c.get("finish_reason").isNull()) {
                finish = c.get("finish_reason").asString();
            }
        }
        assertThat(finish).isEqualTo("tool_calls");
        assertThat(callDelta.get("index").asInt()).isZero();
        assertThat(callDelta.get("function").get("name").asString()).isIn("get_weather", "get_time");
        assertThat(json.readTree(callDelta.get("function").get("arguments").asString()).isObject()).isTrue();
    }

    @Test
    void badToolsAreRefusedByName() {
        Map<String, Object> body = request("required", 1, false);
        body.put("tools", List.of(Map.of("type", "function", "function", Map.of("name", "f", "parameters",
                Map.of("type", "object", "properties", Map.of("x", Map.of("type", "string", "format", "email")))))));
        client.post().uri("/v1/chat/completions").bodyValue(body).exchange().expectStatus().isBadRequest()
                .expectBody().jsonPath("$.parameter").isEqualTo("tools[0].function.parameters.properties.x.format");
        body = request(Map.of("type", "function", "function", Map.of("name", "nope")), 1, false);
        client.post().uri("/v1/chat/completions").bodyValue(body).exchange().expectStatus().isBadRequest()
                .expectBody().jsonPath("$.parameter").isEqualTo("tool_choice");
    }

    @Test
    void theOfficialOpenAiClientGetsAToolCall() throws Exception {
        NodeClientsAccess.requireNode();
        var run = NodeClientsAccess.run("openai-tools.mjs", "http://localhost:" + port);
        assertThat(run.exitCode()).as("openai-tools.mjs failed: %s", run.tail()).isZero();
        Schema schema = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12).getSchema(WEATHER, InputFormat.JSON);
        String arguments = run.summary().get("arguments").asString();
        assertThat(schema.validate(arguments, InputFormat.JSON)).as(arguments).isEmpty();
    }
}
