package io.tandem.model.llama;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Seeded random weights for a given architecture: realistic sizes for benchmarks without the
 * real weights, and small models of any layout for tests. Values are scaled like a trained
 * model's (roughly {@code 1/sqrt(fan_in)}) so activations stay in a sane range.
 */
public final class RandomWeights {

    /**
     * A 25M-parameter llama2.c-style shape (dim 512, 8 layers, the embedded tokenizer's 512-token
     * vocabulary): slow enough on a CPU that a long answer outlasts a test's steps, and wide enough that
     * bytes per token on the wire say something.
     */
    public static final LlamaConfig STORIES_25M = new LlamaConfig("llama", 512, 1536, 8, 8, 4, 512, 512, 1e-5f,
            10000f, RopeLayout.ADJACENT_PAIRS, true, false);

    private RandomWeights() {
    }

    public static LlamaWeights create(LlamaConfig config, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        int dim = config.dim();
        int kvDim = config.kvDim();
        int hidden = config.hiddenDim();
        List<LayerWeights> layers = new ArrayList<>();
        for (int l = 0; l < config.layers(); l++) {
            String p = "layers." + l + ".";
            layers.add(new LayerWeights(
                    norm(p + "attention_norm", dim, random),
                    matrix(p + "wq", dim, dim, random),
                    matrix(p + "wk", kvDim, dim, random),
                    matrix(p + "wv", kvDim, dim, random),
                    matrix(p + "wo", dim, dim, random),
                    config.qkvBias() ? bias(p + "bq", dim, random) : null,
                    config.qkvBias() ? bias(p + "bk", kvDim, random) : null,
                    config.qkvBias() ? bias(p + "bv", kvDim, random) : null,
                    norm(p + "ffn_norm", dim, random),
                    matrix(p + "w1", hidden, dim, random),
                    matrix(p + "w2", dim, hidden, random),
                    matrix(p + "w3", hidden, dim, random)));
        }
        Matrix embedding = matrix("token_embedding", config.vocabSize(), dim, random);
        Matrix classifier = config.tiedClassifier() ? null : matrix("classifier", config.vocabSize(), dim, random);
        return new LlamaWeights(config, embedding, layers, norm("final_norm", dim, random), classifier);
    }

    private static Matrix matrix(String name, int rows, int cols, SplittableRandom random) {
        float[] data = new float[rows * cols];
        float scale = (float) (1.7 / Math.sqrt(cols));
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) ((random.nextDouble() * 2 - 1) * scale);
        }
        return new Matrix(name, rows, cols, data);
    }

    private static Matrix norm(String name, int size, SplittableRandom random) {
        float[] data = new float[size];
        for (int i = 0; i < size; i++) {
            data[i] = (float) (0.8 + 0.4 * random.nextDouble());
        }
        return Matrix.vector(name, data);
    }

    private static Matrix bias(String name, int size, SplittableRandom random) {
        float[] data = new float[size];
        for (int i = 0; i < size; i++) {
            data[i] = (float) ((random.nextDouble() * 2 - 1) * 0.1);
        }
        return Matrix.vector(name, data);
    }
}
