package io.tandem.edge.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.tandem.edge.EdgeTest;
import io.tandem.model.engine.Engine;
import io.tandem.model.engine.EngineOptions;
import io.tandem.model.engine.LoadedModel;
import io.tandem.model.export.ModelExporter;
import io.tandem.model.generate.GenerationRequest;
import io.tandem.model.onnx.GraphFlavour;
import io.tandem.model.onnx.WeightPrecision;
import io.tandem.model.runtime.RuntimeOptions;
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

/**
 * The edge serves an exported folder ({@code tandem.model.path=DIR}): the export's graphs, opened as they are
 * after their sha256s were checked, answer as the model they were exported from.
 */
@EdgeTest(properties = {EdgeTest.CONFIG, EdgeTest.CONFIG_NAME, "tandem.model.threads=1", "tandem.model.weights=int8"})
class ExportedModelServingTest {

    static final EngineOptions SPLIT_INT8 = new EngineOptions(WeightPrecision.INT8, GraphFlavour.FAST, 3,
            RuntimeOptions.threads(1));
    static Path export;

    @DynamicPropertySource
    static void exportedModel(DynamicPropertyRegistry registry) throws IOException {
        Path dir = Files.createTempDirectory("tandem-export-edge");
        export = ModelExporter.export(LoadedModel.embedded(), SPLIT_INT8, dir.resolve("export"), false).directory();
        registry.add("tandem.model.path", export::toString);
    }

    @Autowired
    WebTestClient client;

    @Autowired
    LocalModelConfiguration.WarmModel warm;

    @Test
    void servesTheExportsGraphsAsTheModelFileRunsThem() {
        LoadedModel embedded = LoadedModel.embedded();
        String expected;
        try (Engine engine = Engine.open(embedded, SPLIT_INT8)) {
            expected = engine.generate(new GenerationRequest(embedded.encodePrompt("Once upon a time"), 12, List.of(),
                    SamplingParams.greedy())).text();
        }
        assertThat(warm.engine().manifests()).hasSize(2);
        assertThat(warm.served().id()).isEqualTo(LoadedModel.EMBEDDED_NAME);
        JsonNode completion = client.post().uri("/v1/completions")
                .bodyValue(Map.of("prompt", "Once upon a time", "temperature", 0, "max_tokens", 12))
                .exchange().expectStatus().isOk().expectBody(JsonNode.class).returnResult().getResponseBody();
        assertThat(completion.get("choices").get(0).get("text").asString()).isEqualTo(expected);

        // another split point needs weights the export does not hold: refused, saying why
        Throwable other = catchThrowable(() -> warm.partitions().range(0, 1));
        assertThat(other).hasMessageContaining("exported graphs").hasMessageContaining(export.toString());
    }
}
