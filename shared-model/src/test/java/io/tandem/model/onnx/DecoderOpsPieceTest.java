package io.tandem.model.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.tandem.model.llama.LlamaConfig;
import io.tandem.model.llama.LlamaWeights;
import io.tandem.model.llama.Matrix;
import io.tandem.model.llama.RandomWeights;
import io.tandem.model.llama.RopeLayout;
import io.tandem.model.reference.ReferenceForward;
import java.nio.FloatBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.BiFunction;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Each piece of the decoder graph, wired alone into a tiny graph, against the plain Java
 * reference: RMSNorm, the fused residual add and norm, linear layers in every precision, rotary
 * embedding in both layouts and the SwiGLU feed-forward. Run in both flavours; the fast flavour's
 * contrib operators (SimplifiedLayerNormalization, SkipSimplifiedLayerNormalization, MatMulNBits,
 * RotaryEmbedding) are what this guards.
 */
class DecoderOpsPieceTest {

    static final int POSITIONS = 3;
    static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();

    static LlamaConfig config(RopeLayout layout) {
        return GraphVsReferenceTest.config(layout, false, true, true);
    }

    @ParameterizedTest
    @EnumSource(GraphFlavour.class)
    void rmsNorm(GraphFlavour flavour) throws OrtException {
        LlamaConfig c = config(RopeLayout.ADJACENT_PAIRS);
        LlamaWeights w = RandomWeights.create(c, 1);
        Matrix weight = w.layers().getFirst().attentionNorm();
        float[][] x = rows(POSITIONS, c.dim(), 2);
        float[][] y = runPiece(c, flavour, WeightPrecision.FP32, c.dim(), x, c.dim(), (ops, in) -> ops.rmsNorm(in, weight));
        for (int p = 0; p < POSITIONS; p++) {
            assertClose(y[p], ReferenceForward.rmsNorm(x[p], weight.data(), c.normEps()), 1e-5f);
        }
    }

    @ParameterizedTest
    @EnumSource(GraphFlavour.class)
    void residualAddThenNorm(GraphFlavour flavour) throws OrtException {
        LlamaConfig c = config(RopeLayout.ADJACENT_PAIRS);
        Matrix weight = RandomWeights.create(c, 1).layers().getFirst().ffnNorm();
        float[][] x = rows(POSITIONS, c.dim(), 3);
        float[][] residual = rows(POSITIONS, c.dim(), 4);
        OnnxGraph g = new OnnxGraph("piece");
        String in = g.input("x", OnnxGraph.FLOAT, 1L, (long) POSITIONS, (long) c.dim());
        String res = g.input("residual", OnnxGraph.FLOAT, 1L, (long) POSITIONS, (long) c.dim());
        String[] out = new DecoderOps(g, c, WeightPrecision.FP32, flavour).addAndNorm(in, res, weight);
        g.output(out[0], "normalized", OnnxGraph.FLOAT, 1L, (long) POSITIONS, (long) c.dim());
        g.output(out[1], "sum", OnnxGraph.FLOAT, 1L, (long) POSITIONS, (long) c.dim());
        Map<String, float[][]> results = run(g, Map.of("x", x, "residual", residual), "normalized", "sum");
        for (int p = 0; p < POSITIONS; p++) {
            float[] sum = new float[c.dim()];
            for (int i = 0; i < sum.length; i++) {
                sum[i] = x[p][i] + residual[p][i];
            }
            assertClose(results.get("sum")[p], sum, 1e-6f);
            assertClose(results.get("normalized")[p], ReferenceForward.rmsNorm(sum, weight.data(), c.normEps()), 1e-5f);
        }
    }

    @ParameterizedTest
    @EnumSource(GraphFlavour.class)
    void linearInEveryPrecision(GraphFlavour flavour) throws OrtException {
        LlamaConfig c = config(RopeLayout.ADJACENT_PAIRS);
        // 72 inputs: a partial last quantization block, as stories260K's 172-wide down projection has.
        Matrix w = RandomWeights.create(c, 5).layers().getFirst().w2Down();
        assertThat(w.cols() % WeightPrecision.BLOCK_SIZE).isNotZero();
        float[][] x = rows(POSITIONS, w.cols(), 6);
        for (WeightPrecision precision : WeightPrecision.values()) {
            Matrix effective = precision.quantized() ? BlockQuantized.quantize(w, precision).dequantize("w") : w;
            float[][] y = runPiece(c, flavour, precision, w.cols(), x, w.rows(), (ops, in) -> ops.linear(in, w));
            for (int p = 0; p < POSITIONS; p++) {
                assertClose(y[p], ReferenceForward.matVec(effective, x[p]), 1e-5f);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(RopeLayout.class)
    void rotaryEmbeddingInBothFlavours(RopeLayout layout) throws OrtException {
        LlamaConfig c = config(layout);
        int heads = c.heads();
        int hd = c.headDim();
        int past = 5;
        for (GraphFlavour flavour : GraphFlavour.values()) {
            OnnxGraph g = new OnnxGraph("piece");
            String x = g.input("x", OnnxGraph.FLOAT, 1L, (long) heads, (long) POSITIONS, (long) hd);
            String pastKey = g.input("past_key", OnnxGraph.FLOAT, 1L, (long) c.kvHeads(), (long) past, (long) hd);
            // The portable Positions; RotaryEmbedding takes the same position ids and tables.
            DecoderOps ops = new DecoderOps(g, c, WeightPrecision.FP32, GraphFlavour.PORTABLE);
            DecoderOps.Positions positions = ops.positions(
                    g.op("Reshape", x, g.axes(1, POSITIONS, -1)), pastKey);
            String rotated = new DecoderOps(g, c, WeightPrecision.FP32, flavour).rotate(x, heads, positions);
            g.output(rotated, "y", OnnxGraph.FLOAT, 1L, (long) heads, (long) POSITIONS, (long) hd);
            float[][] input = rows(heads * POSITIONS, hd, 8);
            float[][] pastValues = rows(c.kvHeads() * past, hd, 9);
            Map<String, float[][]> out = run(g, Map.of("x", input, "past_key", pastValues), "y");
            for (int h = 0; h < heads; h++) {
                for (int p = 0; p < POSITIONS; p++) {
                    float[] expected = input[h * POSITIONS + p].clone();
                    // one head at a time: the reference rotates each head of a vector the same way
                    ReferenceForward.rope(expected, 1, past + p, c);
                    assertClose(out.get("y")[h * POSITIONS + p], expected, 2e-5f);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(GraphFlavour.class)
    void swigluFeedForward(GraphFlavour flavour) throws OrtException {
        LlamaConfig c = config(RopeLayout.ADJACENT_PAIRS);
        LlamaWeights w = RandomWeights.create(c, 7);
        float[][] x = rows(POSITIONS, c.dim(), 10);
        float[][] y = runPiece(c, flavour, WeightPrecision.FP32, c.dim(), x, c.dim(),
                (ops, in) -> ops.feedForward(in, w.layers().getFirst()));
        var lw = w.layers().getFirst();
        for (int p = 0; p < POSITIONS; p++) {
            float[] gate = ReferenceForward.matVec(lw.w1Gate(), x[p]);
            float[] up = ReferenceForward.matVec(lw.w3Up(), x[p]);
            for (int i = 0; i < gate.length; i++) {
                gate[i] = (float) (gate[i] / (1 + Math.exp(-gate[i]))) * up[i];
            }
            assertClose(y[p], ReferenceForward.matVec(lw.w2Down(), gate), 1e-5f);
        }
    }

    /** A graph of one piece: input {@code [1, POSITIONS, inWidth]} to output {@code [1, POSITIONS, outWidth]}. */
    private static float[][] runPiece(LlamaConfig c, GraphFlavour flavour, WeightPrecision precision, int inWidth,
                                      float[][] x, int outWidth, BiFunction<DecoderOps, String, String> piece)
            throws OrtException {
        OnnxGraph g = new OnnxGraph("piece");
        String in = g.input("x", OnnxGraph.FLOAT, 1L, (long) POSITIONS, (long) inWidth);
        g.output(piece.apply(new DecoderOps(g, c, precision, flavour), in), "y", OnnxGraph.FLOAT,
                1L, (long) POSITIONS, (long) outWidth);
        return run(g, Map.of("x", x), "y").get("y");
    }

    /** Runs a graph; each input and output is given as rows of its last dimension. */
    private static Map<String, float[][]> run(OnnxGraph g, Map<String, float[][]> inputs, String... outputs)
            throws OrtException {
        OnnxModel model = new OnnxModel(g, Map.of());
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            so.addConfigEntry("session.qdq_matmulnbits_accuracy_level", "1");
            try (OrtSession session = ENV.createSession(model.toBytes(), so)) {
                Map<String, OnnxTensor> tensors = new HashMap<>();
                try {
                    for (var e : inputs.entrySet()) {
                        long[] shape = session.getInputInfo().get(e.getKey()).getInfo() instanceof ai.onnxruntime.TensorInfo t
                                ? t.getShape() : null;
                        tensors.put(e.getKey(), OnnxTensor.createTensor(ENV, FloatBuffer.wrap(flatten(e.getValue())), shape));
                    }
                    try (OrtSession.Result result = session.run(tensors)) {
                        Map<String, float[][]> out = new HashMap<>();
                        for (String name : outputs) {
                            OnnxTensor t = (OnnxTensor) result.get(name).orElseThrow();
                            long[] shape = t.getInfo().getShape();
                            int width = (int) shape[shape.length - 1];
                            float[] flat = GraphTesting.copy(t.getFloatBuffer());
                            float[][] rows = new float[flat.length / width][width];
                            for (int r = 0; r < rows.length; r++) {
                                System.arraycopy(flat, r * width, rows[r], 0, width);
                            }
                            out.put(name, rows);
                        }
                        return out;
                    }
                } finally {
                    tensors.values().forEach(OnnxTensor::close);
                }
            }
        }
    }

    private static float[] flatten(float[][] rows) {
        float[] flat = new float[rows.length * rows[0].length];
        for (int r = 0; r < rows.length; r++) {
            System.arraycopy(rows[r], 0, flat, r * rows[0].length, rows[0].length);
        }
        return flat;
    }

    private static float[][] rows(int count, int width, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[][] out = new float[count][width];
        for (float[] row : out) {
            for (int i = 0; i < width; i++) {
                row[i] = (float) random.nextGaussian();
            }
        }
        return out;
    }

    private static void assertClose(float[] actual, float[] expected, float tolerance) {
        assertThat(actual).hasSameSizeAs(expected);
        float max = 0;
        for (int i = 0; i < expected.length; i++) {
            max = Math.max(max, Math.abs(actual[i] - expected[i]));
        }
        assertThat(max).as("max abs difference").isLessThanOrEqualTo(tolerance);
    }

}
