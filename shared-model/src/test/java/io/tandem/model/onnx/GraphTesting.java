package io.tandem.model.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.model.llama.LayerWeights;
import io.tandem.model.llama.LlamaConfig;
import io.tandem.model.llama.LlamaWeights;
import io.tandem.model.llama.Matrix;
import io.tandem.model.runtime.GraphSession;
import io.tandem.model.runtime.RuntimeOptions;
import java.nio.FloatBuffer;
import java.util.List;

/** Shared helpers for graph tests. */
final class GraphTesting {
    private GraphTesting() {
    }

    static GraphSession open(LlamaWeights weights, GraphSpec spec) {
        return GraphSession.open(DecoderGraphBuilder.build(weights, spec), spec, weights.config(), RuntimeOptions.threads(1));
    }

    static float maxAbsDifference(FloatBuffer actual, float[] expected) {
        assertThat(actual.remaining()).isEqualTo(expected.length);
        float max = 0;
        for (int i = 0; i < expected.length; i++) {
            max = Math.max(max, Math.abs(actual.get(actual.position() + i) - expected[i]));
        }
        return max;
    }

    static float[] copy(FloatBuffer buffer) {
        float[] out = new float[buffer.remaining()];
        buffer.duplicate().get(out);
        return out;
    }

    /**
     * The fp32 model a quantized graph stands for: every projection and the classifier replaced by
     * its dequantized self, the embedding and norms unchanged. The classifier becomes explicit,
     * because a tied embedding stays fp32 for the lookup but is quantized as the classifier.
     */
    static LlamaWeights dequantizedTwin(LlamaWeights w, WeightPrecision precision) {
        LlamaConfig c = w.config();
        LlamaConfig untied = new LlamaConfig(c.architecture(), c.dim(), c.hiddenDim(), c.layers(), c.heads(),
                c.kvHeads(), c.vocabSize(), c.contextLength(), c.normEps(), c.ropeTheta(), c.ropeLayout(), false, c.qkvBias());
        List<LayerWeights> layers = w.layers().stream().map(l -> new LayerWeights(l.attentionNorm(),
                dq(l.wq(), precision), dq(l.wk(), precision), dq(l.wv(), precision), dq(l.wo(), precision),
                l.bq(), l.bk(), l.bv(), l.ffnNorm(),
                dq(l.w1Gate(), precision), dq(l.w2Down(), precision), dq(l.w3Up(), precision))).toList();
        return new LlamaWeights(untied, w.tokenEmbedding(), layers, w.finalNorm(), dq(w.classifierOrEmbedding(), precision));
    }

    private static Matrix dq(Matrix m, WeightPrecision precision) {
        return BlockQuantized.quantize(m, precision).dequantize(m.name());
    }
}
