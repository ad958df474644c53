package io.tandem.model.engine;

import io.tandem.model.checkpoint.Checkpoint;
import io.tandem.model.checkpoint.Llama2cCheckpointReader;
import io.tandem.model.generate.TokenText;
import io.tandem.model.gguf.GgufModelLoader;
import io.tandem.model.llama.LlamaWeights;
import io.tandem.model.onnx.WeightPrecision;
import io.tandem.model.onnx.WeightSource;
import io.tandem.model.tokenizer.Llama2cTokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * A model ready to build graphs from: its weights, where they came from and how they were stored, and its
 * tokenizer. Weights of a model loaded from a file stay in that file ({@code Matrix.lazyRows})
 * and are read when a graph is built.
 *
 * @param weightSource how the file stored the weights: blocks a quantized graph can use as they are, and
 *                     what the manifest says was done to each stored type ({@link WeightSource#FP32} for
 *                     llama2.c checkpoints)
 */
public record LoadedModel(String name, LlamaWeights weights, String sourceFormat, String sourceSha256,
                          ModelTokenizer tokenizer, WeightSource weightSource) {

    public static final String EMBEDDED_NAME = "stories260K";

    /** The first bytes of every GGUF file. */
    private static final byte[] GGUF_MAGIC = {'G', 'G', 'U', 'F'};

    public LoadedModel {
        if (weightSource == null) {
            throw new IllegalArgumentException("weightSource must be given (WeightSource.FP32 for plain fp32 weights)");
        }
        tokenizer.requireVocabSize(weights.config().vocabSize());
    }

    /** A model whose weights are plain fp32 as loaded. */
    public LoadedModel(String name, LlamaWeights weights, String sourceFormat, String sourceSha256,
                       ModelTokenizer tokenizer) {
        this(name, weights, sourceFormat, sourceSha256, tokenizer, WeightSource.FP32);
    }

    /** The default model that ships inside Tandem: stories260K with its 512-token vocabulary. */
    public static LoadedModel embedded() {
        Checkpoint checkpoint = Llama2cCheckpointReader.embedded();
        return new LoadedModel(EMBEDDED_NAME, checkpoint.weights(), checkpoint.sourceFormat(), checkpoint.sha256(),
                new ModelTokenizer.Llama2c(Llama2cTokenizer.embedded()));
    }

    /**
     * A model file of either format, told apart by its first bytes: a GGUF file (which carries its
     * tokenizer; {@code tokenizerFile} must then be null), else a llama2.c checkpoint. A file named
     * {@code .gguf} is read as GGUF whatever its first bytes, so that a damaged one is reported as a bad
     * GGUF file rather than as a strange checkpoint.
     */
    public static LoadedModel load(Path model, Path tokenizerFile) throws IOException {
        if (isGguf(model) || model.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".gguf")) {
            if (tokenizerFile != null) {
                throw new IllegalArgumentException(model + " is a GGUF file, which carries its own tokenizer: "
                        + "leave the tokenizer (" + tokenizerFile + ") out");
            }
            return gguf(model);
        }
        return llama2c(model, tokenizerFile);
    }

    /** Whether the file starts with the GGUF magic. */
    public static boolean isGguf(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return Arrays.equals(in.readNBytes(GGUF_MAGIC.length), GGUF_MAGIC);
        }
    }

    /**
     * A llama2.c checkpoint. Without an explicit tokenizer, {@code tokenizer.bin} beside the model is
     * used, else the embedded 512-token one (which only fits models with that vocabulary).
     */
    public static LoadedModel llama2c(Path model, Path tokenizerFile) throws IOException {
        Checkpoint checkpoint = Llama2cCheckpointReader.read(model);
        Llama2cTokenizer tokenizer;
        if (tokenizerFile != null) {
            tokenizer = Llama2cTokenizer.load(tokenizerFile);
        } else {
            Path beside = model.toAbsolutePath().resolveSibling("tokenizer.bin");
            tokenizer = Files.isRegularFile(beside) ? Llama2cTokenizer.load(beside) : Llama2cTokenizer.embedded();
        }
        String name = model.getFileName().toString().replaceFirst("\\.bin$", "");
        return new LoadedModel(name, checkpoint.weights(), checkpoint.sourceFormat(), checkpoint.sha256(),
                new ModelTokenizer.Llama2c(tokenizer));
    }

    /** A GGUF file (llama or qwen2 architecture) with the tokenizer in its metadata. */
    public static LoadedModel gguf(Path model) throws IOException {
        GgufModelLoader.GgufModel gguf = GgufModelLoader.load(model);
        String name = model.getFileName().toString().replaceFirst("\\.gguf$", "");
        return new LoadedModel(name, gguf.weights(), gguf.sourceFormat(), gguf.sha256(),
                new ModelTokenizer.Gguf(gguf.tokenizer(), model.toString()), gguf.weightSource());
    }

    /**
     * A model known only by its shape, name, hash and tokenizer: what serves an exported folder, whose graphs
     * are already built. Its weights have their shapes but no values; reading one fails with {@code why}, so
     * anything that would build another graph from it (another split point, a draft) says why it cannot.
     */
    public static LoadedModel withoutWeights(String name, io.tandem.model.llama.LlamaConfig config, String sourceFormat,
                                             String sourceSha256, ModelTokenizer tokenizer, String why) {
        io.tandem.model.llama.Matrix.RowReader none = (first, count, dst, offset) -> {
            throw new IllegalStateException(why);
        };
        java.util.function.BiFunction<String, int[], io.tandem.model.llama.Matrix> m =
                (n, shape) -> io.tandem.model.llama.Matrix.lazyRows(n, shape[0], shape[1], none);
        int dim = config.dim();
        int kv = config.kvDim();
        int hidden = config.hiddenDim();
        List<io.tandem.model.llama.LayerWeights> layers = new java.util.ArrayList<>();
        for (int l = 0; l < config.layers(); l++) {
            String p = "layers." + l + ".";
            boolean bias = config.qkvBias();
            layers.add(new io.tandem.model.llama.LayerWeights(m.apply(p + "attention_norm.weight", new int[] {1, dim}),
                    m.apply(p + "attention.wq.weight", new int[] {dim, dim}),
                    m.apply(p + "attention.wk.weight", new int[] {kv, dim}),
                    m.apply(p + "attention.wv.weight", new int[] {kv, dim}),
                    m.apply(p + "attention.wo.weight", new int[] {dim, dim}),
                    bias ? m.apply(p + "attention.bq.bias", new int[] {1, dim}) : null,
                    bias ? m.apply(p + "attention.bk.bias", new int[] {1, kv}) : null,
                    bias ? m.apply(p + "attention.bv.bias", new int[] {1, kv}) : null,
                    m.apply(p + "ffn_norm.weight", new int[] {1, dim}),
                    m.apply(p + "feed_forward.w1.weight", new int[] {hidden, dim}),
                    m.apply(p + "feed_forward.w2.weight", new int[] {dim, hidden}),
                    m.apply(p + "feed_forward.w3.weight", new int[] {hidden, dim})));
        }
        LlamaWeights weights = new LlamaWeights(config, m.apply("tok_embeddings.weight", new int[] {config.vocabSize(), dim}),
                layers, m.apply("norm.weight", new int[] {1, dim}),
                config.tiedClassifier() ? null : m.apply("output.weight", new int[] {config.vocabSize(), dim}));
        return new LoadedModel(name, weights, sourceFormat, sourceSha256, tokenizer);
    }

    /** Prompt ids from user text, as the model's tokenizer makes them (BOS first where the model wants it). */
    public int[] encodePrompt(String text) {
        return tokenizer.encodePrompt(text);
    }

    public Set<Integer> endTokens() {
        return tokenizer.endTokens();
    }

    public TokenText tokenText() {
        return tokenizer.tokenText();
    }

    /** What each stored tensor type went through in a graph of {@code precision}, for the manifest. */
    public List<String> sourceConversions(WeightPrecision precision) {
        return weightSource.conversions(weights, precision);
    }
}
