package io.tandem.model.reference;

import io.tandem.model.llama.LayerWeights;
import io.tandem.model.llama.LlamaConfig;
import io.tandem.model.llama.LlamaWeights;
import io.tandem.model.llama.Matrix;
import io.tandem.model.llama.RopeLayout;
import io.tandem.model.onnx.RotaryTables;

/**
 * A plain Java forward pass of a Llama-family decoder, one token at a time, written to be
 * obviously correct rather than fast (after llama2.c's run.c). It is the naive twin every ONNX
 * graph is tested against; its static pieces are tested one by one too.
 */
public final class ReferenceForward {

    private final LlamaWeights weights;
    private final LlamaConfig config;
    private final float[][][] keyCache;   // [layer][position][kvDim]
    private final float[][][] valueCache;
    private int position;

    public ReferenceForward(LlamaWeights weights) {
        this.weights = weights;
        this.config = weights.config();
        this.keyCache = new float[config.layers()][config.contextLength()][];
        this.valueCache = new float[config.layers()][config.contextLength()][];
    }

    public int position() {
        return position;
    }

    /** Runs one token through every layer and returns the logits. */
    public float[] forward(int token) {
        float[] x = embedding(token);
        x = layers(x, 0, config.layers());
        return logits(x);
    }

    /** The embedding row of {@code token}. */
    public float[] embedding(int token) {
        Matrix e = weights.tokenEmbedding();
        float[] x = new float[config.dim()];
        System.arraycopy(e.data(), token * config.dim(), x, 0, config.dim());
        return x;
    }

    /**
     * Runs layers {@code [first, end)} on the residual stream {@code x} at the current position,
     * and advances the position when {@code end} is the last layer.
     */
    public float[] layers(float[] x, int first, int end) {
        x = x.clone();
        for (int l = first; l < end; l++) {
            LayerWeights lw = weights.layers().get(l);
            float[] attention = attention(rmsNorm(x, lw.attentionNorm().data(), config.normEps()), lw, l);
            add(x, attention);
            float[] ffn = feedForward(rmsNorm(x, lw.ffnNorm().data(), config.normEps()), lw);
            add(x, ffn);
        }
        if (end == config.layers()) {
            position++;
        }
        return x;
    }

    /** Final norm and classifier on the residual stream. */
    public float[] logits(float[] x) {
        return matVec(weights.classifierOrEmbedding(), rmsNorm(x, weights.finalNorm().data(), config.normEps()));
    }

    private float[] attention(float[] xn, LayerWeights lw, int layer) {
        int hd = config.headDim();
        float[] q = matVec(lw.wq(), xn);
        float[] k = matVec(lw.wk(), xn);
        float[] v = matVec(lw.wv(), xn);
        if (lw.hasQkvBias()) {
            add(q, lw.bq().data());
            add(k, lw.bk().data());
            add(v, lw.bv().data());
        }
        rope(q, config.heads(), position, config);
        rope(k, config.kvHeads(), position, config);
        keyCache[layer][position] = k;
        valueCache[layer][position] = v;
        float[] out = new float[config.dim()];
        int group = config.queriesPerKvHead();
        for (int h = 0; h < config.heads(); h++) {
            int kvHead = h / group;
            float[] scores = new float[position + 1];
            for (int t = 0; t <= position; t++) {
                float dot = 0;
                for (int i = 0; i < hd; i++) {
                    dot += q[h * hd + i] * keyCache[layer][t][kvHead * hd + i];
                }
                scores[t] = (float) (dot / Math.sqrt(hd));
            }
            softmax(scores);
            for (int t = 0; t <= position; t++) {
                for (int i = 0; i < hd; i++) {
                    out[h * hd + i] += scores[t] * valueCache[layer][t][kvHead * hd + i];
                }
            }
        }
        return matVec(lw.wo(), out);
    }

    private static float[] feedForward(float[] xn, LayerWeights lw) {
        float[] gate = matVec(lw.w1Gate(), xn);
        float[] up = matVec(lw.w3Up(), xn);
        for (int i = 0; i < gate.length; i++) {
            float g = gate[i];
            gate[i] = (float) (g / (1.0 + Math.exp(-g))) * up[i];
        }
        return matVec(lw.w2Down(), gate);
    }

    public static float[] rmsNorm(float[] x, float[] weight, float eps) {
        double ss = 0;
        for (float v : x) {
            ss += (double) v * v;
        }
        float scale = (float) (1.0 / Math.sqrt(ss / x.length + eps));
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = weight[i] * (scale * x[i]);
        }
        return out;
    }

    /** Rotates each head of {@code vec} in place for {@code position}, in the model's layout. */
    public static void rope(float[] vec, int heads, int position, LlamaConfig config) {
        int hd = config.headDim();
        int half = hd / 2;
        for (int h = 0; h < heads; h++) {
            for (int j = 0; j < half; j++) {
                float angle = position * RotaryTables.frequency(config, j);
                float cos = (float) Math.cos(angle);
                float sin = (float) Math.sin(angle);
                int a;
                int b;
                if (config.ropeLayout() == RopeLayout.ADJACENT_PAIRS) {
                    a = h * hd + 2 * j;
                    b = a + 1;
                } else {
                    a = h * hd + j;
                    b = a + half;
                }
                float v0 = vec[a];
                float v1 = vec[b];
                vec[a] = v0 * cos - v1 * sin;
                vec[b] = v0 * sin + v1 * cos;
            }
        }
    }

    public static float[] matVec(Matrix w, float[] x) {
        if (x.length != w.cols()) {
            throw new IllegalArgumentException(w.name() + " expects " + w.cols() + " inputs, got " + x.length);
        }
        float[] out = new float[w.rows()];
        float[] d = w.data();
        for (int r = 0; r < w.rows(); r++) {
            double sum = 0;
            int base = r * w.cols();
            for (int c = 0; c < w.cols(); c++) {
                sum += (double) d[base + c] * x[c];
            }
            out[r] = (float) sum;
        }
        return out;
    }

    public static void softmax(float[] x) {
        float max = Float.NEGATIVE_INFINITY;
        for (float v : x) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) Math.exp(x[i] - max);
            sum += x[i];
        }
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (x[i] / sum);
        }
    }

    private static void add(float[] acc, float[] delta) {
        for (int i = 0; i < acc.length; i++) {
            acc[i] += delta[i];
        }
    }
}
