package io.tandem.model.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ModelShapesTest {

    @Test
    void qwen25HasThePublishedDimensions() {
        ModelShapes.Shape shape = ModelShapes.shape("qwen2.5-0.5b");
        LlamaConfig c = shape.config();
        assertThat(c.architecture()).isEqualTo("qwen2");
        assertThat(c.dim()).isEqualTo(896);
        assertThat(c.layers()).isEqualTo(24);
        assertThat(c.heads()).isEqualTo(14);
        assertThat(c.kvHeads()).isEqualTo(2);
        assertThat(c.headDim()).isEqualTo(64);
        assertThat(c.hiddenDim()).isEqualTo(4864);
        assertThat(c.vocabSize()).isEqualTo(151936);
        assertThat(c.tiedClassifier()).isTrue();
        assertThat(c.qkvBias()).isTrue();
        assertThat(c.ropeLayout()).isEqualTo(RopeLayout.HALVES);
        assertThat(c.ropeTheta()).isEqualTo(1_000_000f);
        assertThat(c.normEps()).isEqualTo(1e-6f);
        assertThat(c.contextLength()).isEqualTo(ModelShapes.BENCH_CONTEXT);
        assertThat(shape.realContextLength()).isEqualTo(32768);
        // Qwen2.5-0.5B's model card: 0.49B parameters; this is the exact safetensors total.
        assertThat(ModelShapes.parameterCount(c)).isEqualTo(494_032_768L);
    }

    @Test
    void llama32HasThePublishedDimensions() {
        ModelShapes.Shape shape = ModelShapes.shape("llama-3.2-1b");
        LlamaConfig c = shape.config();
        assertThat(c.architecture()).isEqualTo("llama");
        assertThat(c.dim()).isEqualTo(2048);
        assertThat(c.layers()).isEqualTo(16);
        assertThat(c.heads()).isEqualTo(32);
        assertThat(c.kvHeads()).isEqualTo(8);
        assertThat(c.headDim()).isEqualTo(64);
        assertThat(c.hiddenDim()).isEqualTo(8192);
        assertThat(c.vocabSize()).isEqualTo(128256);
        assertThat(c.tiedClassifier()).isTrue();
        assertThat(c.qkvBias()).isFalse();
        assertThat(c.ropeLayout()).isEqualTo(RopeLayout.HALVES);
        assertThat(c.ropeTheta()).isEqualTo(500_000f);
        assertThat(c.normEps()).isEqualTo(1e-5f);
        assertThat(c.contextLength()).isEqualTo(ModelShapes.BENCH_CONTEXT);
        assertThat(shape.realContextLength()).isEqualTo(131072);
        // Llama 3.2 1B: 1.24B parameters with the tied embedding counted once.
        assertThat(ModelShapes.parameterCount(c)).isEqualTo(1_235_814_400L);
    }

    @Test
    void untiedClassifierAndBiasesCountSeparately() {
        LlamaConfig c = new LlamaConfig("llama", 8, 16, 2, 2, 1, 10, 32, 1e-5f, 10000f,
                RopeLayout.ADJACENT_PAIRS, false, true);
        // per layer: wq 64 + wo 64 + wk 32 + wv 32 + 3 * 128 + norms 16 + biases 8 + 4 + 4 = 608
        assertThat(ModelShapes.parameterCount(c)).isEqualTo(10 * 8 + 2 * 608 + 8 + 10 * 8);
    }

    @Test
    void lookupIgnoresCaseAndListsTheKnownNamesWhenUnknown() {
        assertThat(ModelShapes.config("Qwen2.5-0.5B")).isEqualTo(ModelShapes.config("qwen2.5-0.5b"));
        assertThat(ModelShapes.names()).containsExactly("qwen2.5-0.5b", "llama-3.2-1b");
        assertThatThrownBy(() -> ModelShapes.shape("gpt-5"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("gpt-5")
                .hasMessageContaining("qwen2.5-0.5b")
                .hasMessageContaining("llama-3.2-1b");
    }
}
