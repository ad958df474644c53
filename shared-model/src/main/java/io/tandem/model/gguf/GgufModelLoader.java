package io.tandem.model.gguf;

import io.tandem.model.gguf.GgufException.Problem;
import io.tandem.model.llama.LayerWeights;
import io.tandem.model.llama.LlamaConfig;
import io.tandem.model.llama.LlamaWeights;
import io.tandem.model.llama.Matrix;
import io.tandem.model.llama.RopeLayout;
import io.tandem.model.onnx.BlockQuantized;
import io.tandem.model.onnx.WeightPrecision;
import io.tandem.model.onnx.WeightSource;
import io.tandem.model.tokenizer.GgufTokenizer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Loads a Llama-family decoder from a GGUF file: the hyperparameters from the {@code {arch}.*} metadata,
 * the tokenizer from {@code tokenizer.*}, and the tensor table, checked: every tensor's shape and type. The
 * weights themselves stay in the file: each is read (dequantized to fp32, or as its stored Q4_0/Q8_0
 * blocks) when a graph is built, one at a time, so a loaded model costs no heap for its weights.
 *
 * <p>Architectures: {@code llama} (Llama 2/3, TinyLlama, SmolLM; llama.cpp's converter permuted the Q/K
 * rows so rotary embedding turns adjacent pairs, as llama2.c does) and {@code qwen2} (Qwen2/2.5: Q/K/V
 * biases, rotary embedding over halves, the classifier tied to the embedding in the small sizes). A file
 * without {@code output.weight} has a tied classifier.
 *
 * <p>GGUF Q4_0 and Q8_0 projections are also kept as their stored blocks ({@link WeightSource}), so an
 * int4 or int8 graph uses them without requantizing.
 *
 * <p>Llama 3.1+ files carry their long-context RoPE scaling as per-pair frequency factors
 * ({@code rope_freqs.weight}), which go into the config; other RoPE scaling ({@code rope.scaling.type}
 * linear or yarn) is refused.
 *
 * <p>Every problem is a {@link GgufException} naming the file and the key or tensor at fault: an
 * unsupported architecture, a missing key or tensor, a tensor of the wrong shape or of a type that cannot
 * be converted, a tensor this decoder would not use (it would silently compute another model), or a
 * feature it does not implement.
 */
public final class GgufModelLoader {

    /** The architectures this loader maps, with what they cover, for messages. */
    public static final Map<String, String> ARCHITECTURES = Map.of(
            "llama", "Llama 2/3, TinyLlama, SmolLM",
            "qwen2", "Qwen2, Qwen2.5");

    static final String ROPE_FREQS = "rope_freqs.weight";

    private GgufModelLoader() {
    }

    /**
     * A model read from a GGUF file.
     *
     * @param sourceFormat "gguf" with the stored tensor types and their counts, e.g. "gguf v3 (F32 11, Q4_0 36)"
     * @param sha256       SHA-256 of the whole file, lower-case hex
     */
    public record GgufModel(LlamaWeights weights, WeightSource weightSource, GgufTokenizer tokenizer,
                            String sourceFormat, String sha256) {
    }

    /**
     * Reads the model's metadata, tokenizer and tensor table; the weights stay in the memory-mapped file
     * and are read (dequantized, or as their stored blocks) one tensor at a time when a graph is built, so
     * loading costs no heap for them. The file stays open (mapped) for as long as the weights are in use.
     */
    public static GgufModel load(Path path) throws IOException {
        GgufFile file = GgufFile.open(path);
        // the file's sha256 (its identity) on another core while the metadata and tokenizer are read
        java.util.concurrent.CompletableFuture<String> sha256 = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return sha256(path);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        try {
            GgufTokenizer tokenizer = GgufTokenizer.fromMetadata(file.metadata());
            Loader loader = new Loader(file, config(file));
            LlamaWeights weights = loader.weights();
            String hash;
            try {
                hash = sha256.join();
            } catch (java.util.concurrent.CompletionException e) {
                if (e.getCause() instanceof java.io.UncheckedIOException io) {
                    throw io.getCause();
                }
                throw e;
            }
            return new GgufModel(weights, new WeightSource(loader.storedTypes,
                    WeightSource.storedBlocks(loader.exactBlocks)), tokenizer, sourceFormat(file), hash);
        } catch (IOException | RuntimeException e) {
            file.close();
            throw e;
        }
    }

    /** The architecture the metadata describes, checked against the tensors it depends on. */
    public static LlamaConfig config(GgufFile file) {
        GgufMetadata md = file.metadata();
        String source = file.path().toString();
        String arch = md.architecture();
        RopeLayout layout = switch (arch) {
            // llama.cpp's converter permutes Q/K rows of Hugging Face llama models into adjacent pairs
            case "llama" -> RopeLayout.ADJACENT_PAIRS;
            // qwen2 files keep Hugging Face's row order: rotary embedding over halves (ggml's NEOX mode)
            case "qwen2" -> RopeLayout.HALVES;
            default -> throw new GgufException(Problem.UNSUPPORTED, source, GgufMetadata.ARCHITECTURE_KEY + " is '"
                    + arch + "'; Tandem runs " + supportedArchitectures());
        };
        String p = arch + ".";
        int dim = md.getInt(p + "embedding_length");
        int hidden = md.getInt(p + "feed_forward_length");
        int layers = md.getInt(p + "block_count");
        int heads = md.getInt(p + "attention.head_count");
        int kvHeads = md.findInt(p + "attention.head_count_kv").orElse(heads);
        int context = md.getInt(p + "context_length");
        float eps = md.getFloat(p + "attention.layer_norm_rms_epsilon");
        float theta = (float) md.findDouble(p + "rope.freq_base").orElse(10000.0);
        int vocab = md.getArray("tokenizer.ggml.tokens").length();
        rejectUnsupported(md, source, p, dim, heads);
        boolean tied = file.findTensor("output.weight").isEmpty();
        boolean bias = file.findTensor("blk.0.attn_q.bias").isPresent();
        List<Float> factors = ropeFrequencyFactors(file, heads > 0 ? dim / heads / 2 : 0);
        try {
            return new LlamaConfig(arch, dim, hidden, layers, heads, kvHeads, vocab, context, eps, theta, layout,
                    tied, bias, factors);
        } catch (IllegalArgumentException e) {
            throw new GgufException(Problem.MALFORMED, source, "the " + p + "* metadata describes no valid model ("
                    + p + "embedding_length " + dim + ", feed_forward_length " + hidden + ", block_count " + layers
                    + ", attention.head_count " + heads + ", attention.head_count_kv " + kvHeads + ", context_length "
                    + context + ", " + vocab + " tokens): " + e.getMessage());
        }
    }

    /**
     * {@code rope_freqs.weight}: Llama 3.1+ files carry their long-context RoPE scaling as one divisor per
     * rotation pair (llama.cpp computes it at conversion), which applies at every position.
     */
    private static List<Float> ropeFrequencyFactors(GgufFile file, int pairs) {
        var tensor = file.findTensor(ROPE_FREQS);
        if (tensor.isEmpty()) {
            return List.of();
        }
        if (!Arrays.equals(tensor.get().dims(), new long[] {pairs})) {
            throw new GgufException(Problem.MALFORMED, file.path().toString(), "tensor '" + ROPE_FREQS + "' has shape "
                    + Arrays.toString(tensor.get().dims()) + " but the metadata makes it [" + pairs
                    + "] (one factor per rotation pair of a head)");
        }
        List<Float> factors = new ArrayList<>(pairs);
        for (float f : file.dequantize(tensor.get())) {
            factors.add(f);
        }
        return factors;
    }

    /** Features of the metadata this decoder does not implement: refused, since ignoring them computes another model. */
    private static void rejectUnsupported(GgufMetadata md, String source, String p, int dim, int heads) {
        int headDim = heads > 0 ? dim / heads : 0;
        for (String key : List.of(p + "rope.dimension_count", p + "attention.key_length", p + "attention.value_length")) {
            if (md.contains(key) && md.getInt(key) != headDim) {
                throw new GgufException(Problem.UNSUPPORTED, source, "metadata key '" + key + "' is " + md.getInt(key)
                        + ", not the head size " + headDim + " (embedding_length / head_count): Tandem's decoder "
                        + "rotates and attends over whole heads");
            }
        }
        String scaling = p + "rope.scaling.type";
        if (md.findString(scaling).filter(type -> !type.equals("none")).isPresent()) {
            throw new GgufException(Problem.UNSUPPORTED, source, "metadata key '" + scaling + "' is '"
                    + md.getString(scaling) + "': RoPE scaling is not supported");
        }
        if (md.contains(p + "expert_count") && md.getLong(p + "expert_count") > 0) {
            throw new GgufException(Problem.UNSUPPORTED, source, "metadata key '" + p + "expert_count' is "
                    + md.getLong(p + "expert_count") + ": mixture-of-experts models are not supported");
        }
    }

    static String supportedArchitectures() {
        List<String> names = new ArrayList<>();
        new TreeMap<>(ARCHITECTURES).forEach((name, covers) -> names.add("'" + name + "' (" + covers + ")"));
        return String.join(" and ", names);
    }

    /** "gguf v3 (F32 11, Q4_0 36, Q6_K 1)": the stored types, most frequent first. */
    static String sourceFormat(GgufFile file) {
        Map<GgmlType, Integer> counts = new LinkedHashMap<>();
        for (GgufTensorInfo t : file.tensors()) {
            counts.merge(t.type(), 1, Integer::sum);
        }
        List<String> parts = counts.entrySet().stream()
                .sorted(Map.Entry.<GgmlType, Integer>comparingByValue().reversed().thenComparing(e -> e.getKey().name()))
                .map(e -> e.getKey().name() + " " + e.getValue())
                .toList();
        return "gguf v" + file.version() + " (" + String.join(", ", parts) + ")";
    }

    static String sha256(Path path) throws IOException {
        return io.tandem.model.FileDigest.sha256Hex(path);
    }

    /** Reads the tensors of one file into weights, noting how each was stored. */
    private static final class Loader {
        private final GgufFile file;
        private final LlamaConfig config;
        private final String source;
        private final Set<String> used = new LinkedHashSet<>();
        final Map<String, String> storedTypes = new LinkedHashMap<>();
        final Map<String, WeightSource.Stored> exactBlocks = new LinkedHashMap<>();

        Loader(GgufFile file, LlamaConfig config) {
            this.file = file;
            this.config = config;
            this.source = file.path().toString();
        }

        LlamaWeights weights() {
            int dim = config.dim();
            int kvDim = config.kvDim();
            int hidden = config.hiddenDim();
            int vocab = config.vocabSize();
            // the names the llama2.c reader gives, so that the same weights build the same graph whatever the file
            Matrix embedding = matrix("token_embd.weight", "tok_embeddings.weight", vocab, dim, config.tiedClassifier());
            List<LayerWeights> layers = new ArrayList<>(config.layers());
            for (int l = 0; l < config.layers(); l++) {
                String blk = "blk." + l + ".";
                String ours = "layers." + l + ".";
                boolean bias = config.qkvBias();
                layers.add(new LayerWeights(
                        vector(blk + "attn_norm.weight", ours + "attention_norm.weight", dim),
                        matrix(blk + "attn_q.weight", ours + "attention.wq.weight", dim, dim, true),
                        matrix(blk + "attn_k.weight", ours + "attention.wk.weight", kvDim, dim, true),
                        matrix(blk + "attn_v.weight", ours + "attention.wv.weight", kvDim, dim, true),
                        matrix(blk + "attn_output.weight", ours + "attention.wo.weight", dim, dim, true),
                        bias ? vector(blk + "attn_q.bias", ours + "attention.bq.bias", dim) : null,
                        bias ? vector(blk + "attn_k.bias", ours + "attention.bk.bias", kvDim) : null,
                        bias ? vector(blk + "attn_v.bias", ours + "attention.bv.bias", kvDim) : null,
                        vector(blk + "ffn_norm.weight", ours + "ffn_norm.weight", dim),
                        matrix(blk + "ffn_gate.weight", ours + "feed_forward.w1.weight", hidden, dim, true),
                        matrix(blk + "ffn_down.weight", ours + "feed_forward.w2.weight", dim, hidden, true),
                        matrix(blk + "ffn_up.weight", ours + "feed_forward.w3.weight", hidden, dim, true)));
            }
            Matrix finalNorm = vector("output_norm.weight", "norm.weight", dim);
            if (!config.ropeFrequencyFactors().isEmpty()) {
                used.add(ROPE_FREQS); // read into the config
            }
            Matrix classifier = config.tiedClassifier() ? null
                    : matrix("output.weight", "output.weight", vocab, dim, true);
            for (GgufTensorInfo tensor : file.tensors()) {
                if (!used.contains(tensor.name())) {
                    throw new GgufException(Problem.UNSUPPORTED, source, "tensor '" + tensor.name() + "' is not part of a "
                            + config.architecture() + " decoder as Tandem runs it (no Q/K norms, output biases or "
                            + "experts); ignoring it would compute a different model");
                }
            }
            return new LlamaWeights(config, embedding, layers, finalNorm, classifier);
        }

        /** A 1-D tensor of {@code size} values. */
        private Matrix vector(String tensorName, String name, int size) {
            GgufTensorInfo tensor = read(tensorName, name, new long[] {size});
            return Matrix.lazyRows(name, 1, size, (first, count, dst, offset) -> file.dequantizeRows(tensor, first, count, dst, offset));
        }

        /**
         * A {@code [rows, cols]} weight, stored in ggml order as dims {@code [cols, rows]}. {@code projection}:
         * the graph may quantize it, so Q4_0/Q8_0 blocks are kept for an exact int4/int8 graph.
         */
        private Matrix matrix(String tensorName, String name, int rows, int cols, boolean projection) {
            GgufTensorInfo tensor = read(tensorName, name, new long[] {cols, rows});
            if (projection) {
                WeightPrecision stored = switch (tensor.type()) {
                    case Q4_0 -> WeightPrecision.INT4;
                    case Q8_0 -> WeightPrecision.INT8;
                    default -> null;
                };
                if (stored != null) {
                    exactBlocks.put(name, new WeightSource.Stored(stored, rows, cols,
                            () -> storedBlocks(tensor, rows, cols, stored)));
                }
            }
            return Matrix.lazyRows(name, rows, cols,
                    (first, count, dst, offset) -> file.dequantizeRows(tensor, first, count, dst, offset));
        }

        /**
         * The tensor, after checking its shape and that its type can be read (so that a file Tandem cannot
         * run is refused at load, not at the first graph build); notes its stored type under our {@code name}.
         */
        private GgufTensorInfo read(String tensorName, String name, long[] expectedDims) {
            GgufTensorInfo tensor = file.tensor(tensorName);
            if (!Arrays.equals(tensor.dims(), expectedDims)) {
                throw new GgufException(Problem.MALFORMED, source, "tensor '" + tensorName + "' has shape "
                        + Arrays.toString(tensor.dims()) + " but the metadata makes it " + Arrays.toString(expectedDims)
                        + " (ggml order, innermost first)");
            }
            used.add(tensorName);
            storedTypes.put(name, tensor.type().name());
            file.requireReadable(tensor);
            return tensor;
        }

        /**
         * The stored Q4_0 or Q8_0 blocks as the graphs' block layout: the same 32-value blocks along the input,
         * the fp16 scale widened to fp32 (exact), codes unchanged (Q4_0's nibble q is code q with zero point 8;
         * Q8_0's signed q is code q + 128). Q4_0 packs value j in the low and j + 16 in the high nibble of byte j.
         */
        private BlockQuantized storedBlocks(GgufTensorInfo tensor, int rows, int cols, WeightPrecision precision) {
            int blocksPerRow = cols / GgmlQuants.QK;
            byte[] codes = new byte[Math.multiplyExact(rows, cols)];
            float[] scales = new float[rows * blocksPerRow];
            long rowBytes = tensor.rowBytes();
            int rowsPerWindow = (int) Math.max(1, (8L << 20) / rowBytes);
            for (int first = 0; first < rows; first += rowsPerWindow) {
                int n = Math.min(rowsPerWindow, rows - first);
                ByteBuffer window = file.readTensorBytes(tensor, first * rowBytes, (int) (n * rowBytes));
                for (int r = 0; r < n; r++) {
                    for (int b = 0; b < blocksPerRow; b++) {
                        int at = (int) (r * rowBytes) + b * tensor.type().typeSize();
                        int row = first + r;
                        scales[row * blocksPerRow + b] = Float.float16ToFloat(window.getShort(at));
                        int code = row * cols + b * GgmlQuants.QK;
                        if (precision == WeightPrecision.INT4) {
                            for (int j = 0; j < GgmlQuants.QK / 2; j++) {
                                int packed = window.get(at + 2 + j) & 0xFF;
                                codes[code + j] = (byte) (packed & 0xF);
                                codes[code + j + GgmlQuants.QK / 2] = (byte) (packed >>> 4);
                            }
                        } else {
                            for (int j = 0; j < GgmlQuants.QK; j++) {
                                codes[code + j] = (byte) (window.get(at + 2 + j) + 128);
                            }
                        }
                    }
                }
            }
            return new BlockQuantized(precision, rows, cols, codes, scales);
        }
    }
}
