package io.tandem.model.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.model.generate.FinishReason;
import io.tandem.model.generate.GenerationRequest;
import io.tandem.model.generate.GenerationResult;
import io.tandem.model.onnx.GraphFlavour;
import io.tandem.model.onnx.WeightPrecision;
import io.tandem.model.runtime.RuntimeOptions;
import io.tandem.model.sampling.SamplingParams;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The embedded stories260K, whole and split at every layer, in both flavours, reproduces the ids
 * llama2.c's run.c gives: greedy from BOS and greedy after prompts.
 */
class EmbeddedModelGoldenTest {

    static LoadedModel model;

    @BeforeAll
    static void load() {
        model = LoadedModel.embedded();
    }

    @ParameterizedTest(name = "{0} split {1}")
    @CsvSource({"PORTABLE,0", "PORTABLE,1", "PORTABLE,2", "PORTABLE,3", "PORTABLE,4",
                "FAST,0", "FAST,1", "FAST,2", "FAST,3", "FAST,4"})
    void greedyIdsMatchLlama2c(GraphFlavour flavour, int split) {
        EngineOptions options = new EngineOptions(WeightPrecision.FP32, flavour, split, RuntimeOptions.threads(1));
        try (Engine engine = Engine.open(model, options)) {
            int[] expected = Goldens.greedyFromBos();
            GenerationResult fromBos = engine.generate(new GenerationRequest(new int[] {1}, expected.length - 1,
                    List.of(), SamplingParams.greedy()));
            assertThat(fromBos.allIds()).containsExactly(expected);
            assertThat(fromBos.finishReason()).isEqualTo(FinishReason.MAX_TOKENS);
            assertThat(fromBos.text()).isEqualTo(Goldens.resource("expected-greedy-256.txt"));

            for (Goldens.PromptGolden golden : Goldens.prompts()) {
                int[] prompt = model.encodePrompt(golden.prompt());
                // run.c runs 256 steps in all, prompt included, and stops early when the model starts a new story (BOS)
                int budget = 257 - prompt.length;
                GenerationResult result = engine.generate(new GenerationRequest(prompt, budget, List.of(),
                        SamplingParams.greedy()));
                assertThat(result.allIds()).as(golden.prompt()).containsExactly(golden.ids());
                assertThat(result.finishReason()).isEqualTo(golden.ids().length == 257
                        ? FinishReason.MAX_TOKENS : FinishReason.END_OF_SEQUENCE);
            }
        }
    }
}
