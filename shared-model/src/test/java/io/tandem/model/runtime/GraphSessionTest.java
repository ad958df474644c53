package io.tandem.model.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tandem.model.llama.LlamaWeights;
import io.tandem.model.llama.RandomWeights;
import io.tandem.model.llama.LlamaConfig;
import io.tandem.model.llama.RopeLayout;
import io.tandem.model.onnx.DecoderGraphBuilder;
import io.tandem.model.onnx.GraphFlavour;
import io.tandem.model.onnx.GraphSpec;
import io.tandem.model.onnx.WeightPrecision;
import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.Test;

class GraphSessionTest {

    static final LlamaConfig CONFIG = new LlamaConfig("llama", 32, 64, 2, 4, 2, 40, 8, 1e-5f, 10000f,
            RopeLayout.ADJACENT_PAIRS, true, false);
    static final LlamaWeights WEIGHTS = RandomWeights.create(CONFIG, 1);

    static GraphSession open(GraphSpec spec, RuntimeOptions options) {
        return GraphSession.open(DecoderGraphBuilder.build(WEIGHTS, spec), spec, CONFIG, options);
    }

    @Test
    void unavailableExecutionProvidersFallBackToTheCpu() {
        GraphSpec spec = GraphSpec.whole(CONFIG, WeightPrecision.FP32, GraphFlavour.FAST);
        // the CPU jar carries no CUDA or TensorRT provider: the session must still open and run
        try (GraphSession session = open(spec, new RuntimeOptions(1, List.of("cuda", "tensorrt")));
             KvSequence seq = session.newSequence()) {
            assertThat(session.activeProviders()).containsExactly("cpu");
            assertThat(seq.run(new StageInput.Tokens(new long[] {1, 2}))).isInstanceOf(StageOutput.Logits.class);
        }
    }

    @Test
    void stepsBeyondTheContextOrWithWrongInputsAreRefused() {
        GraphSpec whole = GraphSpec.whole(CONFIG, WeightPrecision.FP32, GraphFlavour.PORTABLE);
        try (GraphSession session = open(whole, RuntimeOptions.threads(1)); KvSequence seq = session.newSequence()) {
            assertThatThrownBy(() -> seq.run(new StageInput.Tokens(new long[] {1, 99})))
                    .hasMessageContaining("99").hasMessageContaining("vocabulary");
            assertThatThrownBy(() -> seq.run(new StageInput.Hidden(ByteBuffer.allocate(128), 1)))
                    .hasMessageContaining("token ids");
            seq.run(new StageInput.Tokens(new long[] {1, 2, 3, 4, 5, 6}));
            assertThatThrownBy(() -> seq.run(new StageInput.Tokens(new long[] {1, 2, 3})))
                    .isInstanceOf(ContextFullException.class).hasMessageContaining("context holds 8");
            assertThat(seq.length()).isEqualTo(6);
            seq.run(new StageInput.Tokens(new long[] {7, 8}));
            assertThat(seq.length()).isEqualTo(8);
        }
        try (GraphSession cloud = open(whole.withRange(1, 2), RuntimeOptions.threads(1)); KvSequence seq = cloud.newSequence()) {
            assertThatThrownBy(() -> seq.run(new StageInput.Hidden(ByteBuffer.allocate(100), 1)))
                    .hasMessageContaining("100 bytes");
            assertThatThrownBy(() -> seq.run(new StageInput.Tokens(new long[] {1})))
                    .hasMessageContaining("hidden states");
        }
    }

    @Test
    void rangesOutsideTheModelAreRefused() {
        assertThatThrownBy(() -> DecoderGraphBuilder.build(WEIGHTS, new GraphSpec(1, 3, WeightPrecision.FP32, GraphFlavour.FAST, false)))
                .hasMessageContaining("exceeds the model's 2 layers");
        assertThatThrownBy(() -> new GraphSpec(2, 2, WeightPrecision.FP32, GraphFlavour.FAST, false)).hasMessageContaining("empty");
    }
}
