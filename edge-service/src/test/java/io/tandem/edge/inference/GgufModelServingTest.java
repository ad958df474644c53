package io.tandem.edge.inference;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.edge.EdgeTest;
import io.tandem.model.chat.ChatMessage;
import io.tandem.model.engine.Engine;
import io.tandem.model.engine.EngineOptions;
import io.tandem.model.engine.LoadedModel;
import io.tandem.model.engine.ModelTokenizer;
import io.tandem.model.generate.GenerationRequest;
import io.tandem.model.gguf.GgmlType;
import io.tandem.model.gguf.GgufModelWriter;
import io.tandem.model.sampling.SamplingParams;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.reactive.server.WebTestClient;
import tools.jackson.databind.JsonNode;

/** The edge serves a GGUF file named by tandem.model.path: the embedded model converted, answering as the original. */
@EdgeTest(properties = {EdgeTest.CONFIG, EdgeTest.CONFIG_NAME, "tandem.model.threads=1"})
class GgufModelServingTest {

    static Path file;

    @DynamicPropertySource
    static void ggufModel(DynamicPropertyRegistry registry) throws IOException {
        Path dir = Files.createTempDirectory("tandem-gguf-edge");
        file = dir.resolve("stories260K-q8_0.gguf");
        LoadedModel embedded = LoadedModel.embedded();
        GgufModelWriter.write(file, "stories260K", embedded.weights(),
                GgufModelWriter.llama2cVocabulary(((ModelTokenizer.Llama2c) embedded.tokenizer()).tokenizer()), GgmlType.Q8_0);
        file.toFile().deleteOnExit();
        dir.toFile().deleteOnExit();
        registry.add("tandem.model.path", file::toString);
    }

    @Autowired
    WebTestClient client;

    @Autowired
    ServedModel model;

    @Test
    void servesTheGgufModelAsTheEngineRunsIt() throws IOException {
        assertThat(model.id()).isEqualTo("stories260K-q8_0");
        assertThat(model.tokenizer()).isInstanceOf(ModelTokenizer.Gguf.class);
        assertThat(model.manifests().getFirst().sourceFormat()).isEqualTo("gguf v3 (Q8_0 31, F32 16)");

        // the engine's own greedy continuation of the same file, computed apart from the service
        LoadedModel loaded = LoadedModel.load(file, null);
        String expected;
        try (Engine engine = Engine.open(loaded, EngineOptions.defaults())) {
            expected = engine.generate(new GenerationRequest(loaded.encodePrompt("Once upon a time"), 12, List.of(),
                    SamplingParams.greedy())).text();
        }
        assertThat(expected).startsWith(", there was");
        JsonNode completion = client.post().uri("/v1/completions")
                .bodyValue(Map.of("prompt", "Once upon a time", "temperature", 0, "max_tokens", 12))
                .exchange().expectStatus().isOk().expectBody(JsonNode.class).returnResult().getResponseBody();
        assertThat(completion.get("model").asString()).isEqualTo("stories260K-q8_0");
        assertThat(completion.get("choices").get(0).get("text").asString()).isEqualTo(expected);

        // a converted llama2.c model has no chat template of its own: plain text, no markup tokens
        String rendered = model.renderChat(List.of(new ChatMessage(ChatMessage.Role.USER, "Once upon a time")));
        assertThat(model.encodeChatPrompt(rendered)).containsExactly(loaded.encodePrompt("Once upon a time"));
    }
}
