package io.tandem.model.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.model.llama.LlamaConfig;
import io.tandem.model.llama.LlamaWeights;
import io.tandem.model.llama.RandomWeights;
import io.tandem.model.llama.RopeLayout;
import io.tandem.model.reference.ReferenceForward;
import io.tandem.model.runtime.GraphSession;
import io.tandem.model.runtime.KvSequence;
import io.tandem.model.runtime.RuntimeOptions;
import io.tandem.model.runtime.StageInput;
import io.tandem.model.runtime.StageOutput;
import java.nio.FloatBuffer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class GraphVsReferenceTest {

    /** Head size 8 (like stories260K) unless {@code wideHeads}: 16, which the fused GroupQueryAttention needs. */
    static LlamaConfig config(RopeLayout layout, boolean bias, boolean tied, boolean wideHeads) {
        int dim = wideHeads ? 64 : 32;
        return new LlamaConfig(layout == RopeLayout.HALVES ? "qwen2" : "llama", dim, 72, 3, 4, 2, 50, 64,
                1e-5f, layout == RopeLayout.HALVES ? 1_000_000f : 10000f, layout, tied, bias);
    }

    @ParameterizedTest
    @CsvSource({
        "ADJACENT_PAIRS,false,true,false,PORTABLE", "ADJACENT_PAIRS,false,true,false,FAST",
        "HALVES,true,true,false,PORTABLE", "HALVES,true,true,false,FAST",
        "ADJACENT_PAIRS,false,false,false,FAST", "HALVES,true,false,false,PORTABLE",
        "ADJACENT_PAIRS,false,true,true,FAST", "HALVES,true,true,true,FAST", "HALVES,true,false,true,PORTABLE"})
    void wholeGraphLogitsMatchTheReferenceForward(RopeLayout layout, boolean bias, boolean tied, boolean wideHeads,
                                                  GraphFlavour flavour) {
        LlamaWeights weights = RandomWeights.create(config(layout, bias, tied, wideHeads), 7);
        ReferenceForward reference = new ReferenceForward(weights);
        long[] prompt = {3, 17, 42, 5, 9};
        GraphSpec spec = GraphSpec.whole(weights.config(), WeightPrecision.FP32, flavour);
        try (GraphSession session = GraphSession.open(DecoderGraphBuilder.build(weights, spec), spec,
                weights.config(), RuntimeOptions.threads(1));
             KvSequence seq = session.newSequence()) {
            float[] expected = null;
            for (long t : prompt) {
                expected = reference.forward((int) t);
            }
            StageOutput.Logits logits = (StageOutput.Logits) seq.run(new StageInput.Tokens(prompt));
            assertClose(logits.values(), expected, 1e-4f);
            for (long t : new long[] {11, 23, 31, 1}) {
                expected = reference.forward((int) t);
                logits = (StageOutput.Logits) seq.run(new StageInput.Tokens(new long[] {t}));
                assertClose(logits.values(), expected, 1e-4f);
            }
        }
    }

    static void assertClose(FloatBuffer actual, float[] expected, float tolerance) {
        assertThat(actual.remaining()).isEqualTo(expected.length);
        float max = 0;
        for (int i = 0; i < expected.length; i++) {
            max = Math.max(max, Math.abs(actual.get(actual.position() + i) - expected[i]));
        }
        assertThat(max).as("max abs difference").isLessThanOrEqualTo(tolerance);
    }
}
