package io.tandem.edge.clients;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.edge.inference.ServedModel;
import io.tandem.model.chat.ChatMessage;
import io.tandem.model.chat.ChatTemplate;
import io.tandem.model.engine.Engine;
import io.tandem.model.engine.EngineOptions;
import io.tandem.model.engine.LoadedModel;
import io.tandem.model.generate.GenerationRequest;
import io.tandem.model.sampling.SamplingParams;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.core.env.Environment;
import tools.jackson.databind.JsonNode;

/**
 * The official openai npm client (src/test/node/openai-client.mjs) against the edge on a real port:
 * what an application gets from the SDK, streamed and whole, and the SDK's error classes. Its greedy
 * chat answer must be the engine's own greedy continuation of the same conversation.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "spring.config.additional-location=file:../config/", "spring.config.name=application,edge",
        "tandem.audit.path=target/test-audit.jsonl"})
class OpenAiClientTest {

    /** The script's prompt and budgets (openai-client.mjs). */
    static final String PROMPT = "Once upon a time";
    static final int CHAT_TOKENS = 20;
    static final int TEXT_TOKENS = 12;

    static String engineChatGreedy;
    static String engineTextGreedy;

    @LocalServerPort
    int port;

    @Autowired
    ServedModel model;

    @Autowired
    Environment environment;

    /** The engine's greedy output for the script's requests, computed apart from the service. */
    @BeforeAll
    static void engineReference() {
        LoadedModel loaded = LoadedModel.embedded();
        String rendered = ChatTemplate.PLAIN.render(List.of(new ChatMessage(ChatMessage.Role.USER, PROMPT)));
        try (Engine engine = Engine.open(loaded, EngineOptions.defaults())) {
            engineChatGreedy = engine.generate(new GenerationRequest(loaded.encodePrompt(rendered), CHAT_TOKENS, List.of(),
                    SamplingParams.greedy())).text();
            engineTextGreedy = engine.generate(new GenerationRequest(loaded.encodePrompt(PROMPT), TEXT_TOKENS, List.of(),
                    SamplingParams.greedy())).text();
        }
        assertThat(engineChatGreedy).isNotBlank();
    }

    @Test
    void theEdgeRunsWithConfigEdgeYml() {
        // Only config/edge.yml sets these; the module has no application.yml of its own.
        assertThat(environment.getProperty("spring.application.name")).isEqualTo("tandem-edge");
        assertThat(environment.getProperty("tandem.concurrency.max-queued")).isEqualTo("8");
    }

    @Test
    void theOfficialOpenAiClientGetsWhatItExpects() throws Exception {
        NodeClients.requireNode(false);
        NodeClients.Run run = NodeClients.run("openai-client.mjs", "http://localhost:" + port);
        assertThat(run.summary()).as("the JSON summary line of openai-client.mjs\n%s", run.tail()).isNotNull();
        assertThat(run.exitCode()).as("openai-client.mjs failed: %s\n%s", run.summary().get("failures"), run.tail())
                .isZero();
        JsonNode summary = run.summary();
        assertThat(summary.get("ok").asBoolean()).isTrue();
        assertThat(summary.get("model").asString()).isEqualTo(model.id());
        JsonNode checks = summary.get("checks");
        assertThat(checks.propertyNames()).containsExactlyInAnyOrder("g_models_list", "a_chat_non_streaming",
                "b_chat_streaming", "c_stop", "d_max_tokens_1", "e_errors", "e_error_detail_reaches_sdk", "f_text_completion",
                "h_n_three_choices", "i_logprobs_top5", "j_json_schema", "k_refused_parameters");
        checks.forEach(check -> assertThat(check.get("ok").asBoolean()).as(check.toString()).isTrue());
        assertThat(checks.get("g_models_list").get("ids").get(0).asString()).isEqualTo(model.id());

        // What the SDK parsed is the engine's own greedy output for the same conversation and prompt.
        assertThat(summary.get("greedyContent").asString()).isEqualTo(engineChatGreedy);
        assertThat(checks.get("a_chat_non_streaming").get("content").asString()).isEqualTo(engineChatGreedy);
        assertThat(checks.get("f_text_completion").get("text").asString()).isEqualTo(engineTextGreedy);
        String stop = checks.get("c_stop").get("stop").asString();
        assertThat(checks.get("c_stop").get("content").asString())
                .isEqualTo(engineChatGreedy.substring(0, engineChatGreedy.indexOf(stop)));
        assertThat(checks.get("e_errors").get("unknownModel").get("status").asInt()).isEqualTo(404);
        assertThat(checks.get("e_errors").get("maxTokensZero").get("status").asInt()).isEqualTo(400);

        // issue 14: n = 3 gives three choices
        assertThat(checks.get("h_n_three_choices").get("texts")).hasSize(3);
        // logprobs with top 5: the engine's own values for the greedy tokens
        io.tandem.model.generate.GenerationResult reference;
        LoadedModel loaded = LoadedModel.embedded();
        String rendered = ChatTemplate.PLAIN.render(List.of(new ChatMessage(ChatMessage.Role.USER, PROMPT)));
        try (Engine engine = Engine.open(loaded, EngineOptions.defaults())) {
            reference = engine.generate(new GenerationRequest(loaded.encodePrompt(rendered), 5, List.of(),
                    SamplingParams.greedy(), io.tandem.model.sampling.LogitRules.NONE, null, null, 5),
                    io.tandem.model.generate.GenerationListener.NONE, () -> false);
        }
        JsonNode logprobs = checks.get("i_logprobs_top5").get("logprobs");
        assertThat(logprobs).hasSize(5);
        for (int i = 0; i < 5; i++) {
            assertThat(logprobs.get(i).get("logprob").asDouble())
                    .isCloseTo(reference.tokens().get(i).logprob(), org.assertj.core.data.Offset.offset(1e-6));
            for (int k = 0; k < 5; k++) {
                assertThat(logprobs.get(i).get("top").get(k).asDouble())
                        .isCloseTo(reference.tokens().get(i).topLogprobs()[k], org.assertj.core.data.Offset.offset(1e-6));
            }
        }
        // json_schema: every output the SDK got validates against the script's schema
        com.networknt.schema.Schema schema = com.networknt.schema.SchemaRegistry
                .withDefaultDialect(com.networknt.schema.SpecificationVersion.DRAFT_2020_12).getSchema(PERSON_SCHEMA,
                        com.networknt.schema.InputFormat.JSON);
        assertThat(checks.get("j_json_schema").get("outputs")).hasSize(5);
        for (JsonNode output : checks.get("j_json_schema").get("outputs")) {
            assertThat(schema.validate(output.asString(), com.networknt.schema.InputFormat.JSON)).as(output.asString()).isEmpty();
        }
        assertThat(checks.get("k_refused_parameters").get("refused").propertyNames())
                .containsExactlyInAnyOrder("frobnicate", "functions", "audio", "reasoning_effort", "tools");
    }

    /** openai-client.mjs's PERSON schema. */
    static final String PERSON_SCHEMA = "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"maxLength\":20},"
            + "\"age\":{\"type\":\"integer\"},\"pet\":{\"type\":\"object\",\"properties\":{\"kind\":{\"type\":\"string\","
            + "\"enum\":[\"cat\",\"dog\"]},\"legs\":{\"type\":\"integer\"}},\"required\":[\"kind\",\"legs\"],"
            + "\"additionalProperties\":false}},\"required\":[\"name\",\"age\",\"pet\"],\"additionalProperties\":false}";
}
