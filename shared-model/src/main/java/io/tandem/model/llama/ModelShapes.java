package io.tandem.model.llama;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Named shapes of real architectures, for benchmarks with seeded random weights
 * ({@link RandomWeights}): the sizes and constants of the published checkpoints, without their
 * weights.
 *
 * <p>The context length is not the real model's: the graph builder bakes rotary tables of
 * {@code contextLength x headDim/2} into each graph and sessions size buffers by it, so every
 * shape here uses {@link #BENCH_CONTEXT} tokens. {@link Shape#realContextLength()} records what the
 * published model supports.
 */
public final class ModelShapes {

    /** Context length every named shape is built with (the real models support far more). */
    public static final int BENCH_CONTEXT = 4096;

    /**
     * One named shape.
     *
     * @param name              the lookup name, e.g. {@code qwen2.5-0.5b}
     * @param description       where the numbers come from
     * @param config            the configuration, with {@link #BENCH_CONTEXT} as its context length
     * @param realContextLength the context length the published model supports
     */
    public record Shape(String name, String description, LlamaConfig config, int realContextLength) {
    }

    private static final Map<String, Shape> SHAPES = new LinkedHashMap<>();

    static {
        add(new Shape("qwen2.5-0.5b", "Qwen/Qwen2.5-0.5B: qwen2, tied embeddings, Q/K/V bias",
                new LlamaConfig("qwen2", 896, 4864, 24, 14, 2, 151936, BENCH_CONTEXT,
                        1e-6f, 1_000_000f, RopeLayout.HALVES, true, true),
                32768));
        add(new Shape("llama-3.2-1b", "meta-llama/Llama-3.2-1B: llama, tied embeddings",
                new LlamaConfig("llama", 2048, 8192, 16, 32, 8, 128256, BENCH_CONTEXT,
                        1e-5f, 500_000f, RopeLayout.HALVES, true, false),
                131072));
    }

    private ModelShapes() {
    }

    private static void add(Shape shape) {
        SHAPES.put(shape.name(), shape);
    }

    /** The known names, in a stable order. */
    public static List<String> names() {
        return List.copyOf(SHAPES.keySet());
    }

    /** The shape called {@code name} (case-insensitive). */
    public static Shape shape(String name) {
        Shape shape = name == null ? null : SHAPES.get(name.trim().toLowerCase(Locale.ROOT));
        if (shape == null) {
            throw new IllegalArgumentException("unknown model shape '" + name + "': known shapes are "
                    + String.join(", ", SHAPES.keySet()));
        }
        return shape;
    }

    /** The configuration of the shape called {@code name}. */
    public static LlamaConfig config(String name) {
        return shape(name).config();
    }

    /**
     * Parameters a model of this configuration has, as Hugging Face counts them: embeddings,
     * projections, biases and norm weights; a tied classifier is counted once.
     */
    public static long parameterCount(LlamaConfig config) {
        long dim = config.dim();
        long kvDim = config.kvDim();
        long hidden = config.hiddenDim();
        long perLayer = dim * dim * 2          // wq, wo
                + kvDim * dim * 2              // wk, wv
                + hidden * dim * 3             // w1 (gate), w2 (down), w3 (up)
                + dim * 2;                     // attention and ffn norms
        if (config.qkvBias()) {
            perLayer += dim + kvDim * 2;
        }
        long embedding = (long) config.vocabSize() * dim;
        long classifier = config.tiedClassifier() ? 0 : embedding;
        return embedding + perLayer * config.layers() + dim + classifier;
    }
}
