package io.tandem.model.checkpoint;

import io.tandem.model.checkpoint.CheckpointException.Problem;
import io.tandem.model.llama.LayerWeights;
import io.tandem.model.llama.LlamaConfig;
import io.tandem.model.llama.LlamaWeights;
import io.tandem.model.llama.Matrix;
import io.tandem.model.llama.RopeLayout;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Reads llama2.c checkpoints into fp32 {@link LlamaWeights}:
 * <ul>
 *   <li>version 0 (legacy, run.c): seven int32 header values, then fp32 weights grouped by kind across
 *       layers, the unused rotary tables, and the classifier when the vocabulary size is negative;</li>
 *   <li>version 1 (export.py): a 256-byte header with the "ak42" magic, then fp32 weights with the norms
 *       first and no rotary tables;</li>
 *   <li>version 2 (export.py): the same header plus a group size, the norms in fp32, then every matrix
 *       as its int8 values directly followed by its fp32 group scales (groups run over the flattened
 *       row-major tensor, across row ends), dequantized here as {@code q * scale}.</li>
 * </ul>
 * The reader checks the header against the file size before allocating weights and rejects trailing
 * bytes, so a damaged file fails with a message rather than loading as a subtly different model.
 */
public final class Llama2cCheckpointReader {

    /** Classpath location of the embedded default model (TinyStories 260K, legacy v0). */
    public static final String EMBEDDED_RESOURCE = "/io/tandem/model/embedded/stories260K.bin";

    /** "ak42" read as a little-endian uint32. */
    static final int MAGIC = 0x616b3432;
    static final int VERSIONED_HEADER_BYTES = 256;
    static final int LEGACY_HEADER_BYTES = 7 * Integer.BYTES;

    /** llama2.c hard-codes these; the file does not carry them. */
    public static final float NORM_EPS = 1e-5f;
    public static final float ROPE_THETA = 10000f;

    // Bounds far above any llama2.c-exportable model, there to turn a corrupt header into an error, not an OOM.
    private static final int MAX_DIM = 1 << 16;
    private static final int MAX_HIDDEN_DIM = 1 << 20;
    private static final int MAX_LAYERS = 1 << 10;
    private static final int MAX_VOCAB = 1 << 22;
    private static final int MAX_SEQ_LEN = 1 << 24;
    /** The largest Java array; a Matrix holds one. */
    private static final long MAX_TENSOR_VALUES = Integer.MAX_VALUE - 8;

    private Llama2cCheckpointReader() {
    }

    /** The embedded default checkpoint, {@value #EMBEDDED_RESOURCE}. */
    public static Checkpoint embedded() {
        try (InputStream in = Llama2cCheckpointReader.class.getResourceAsStream(EMBEDDED_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("classpath resource " + EMBEDDED_RESOURCE + " is missing");
            }
            return read(in, "classpath:" + EMBEDDED_RESOURCE);
        } catch (IOException e) {
            throw new UncheckedIOException("reading classpath:" + EMBEDDED_RESOURCE, e);
        }
    }

    /**
     * Reads a checkpoint file of any llama2.c version.
     *
     * @throws IOException         when the file cannot be read
     * @throws CheckpointException when its content is not a valid checkpoint
     */
    public static Checkpoint read(Path path) throws IOException {
        // the file is read through once (checked and hashed); its fp32 tensors are then read again from it, one
        // at a time, when a graph is built, so the weights cost no heap while loaded
        FileChannel weights = FileChannel.open(path, StandardOpenOption.READ);
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            return read(channel, path.toString(), channel.size(), weights);
        } catch (IOException | RuntimeException e) {
            weights.close();
            throw e;
        }
    }

    /**
     * Reads a checkpoint from a stream, to its end (the stream is not closed).
     *
     * @param sourceName how error messages and {@link Checkpoint#source()} name the stream
     */
    public static Checkpoint read(InputStream in, String sourceName) throws IOException {
        return read(Channels.newChannel(in), sourceName, -1, null);
    }

    /** Reads a checkpoint already in memory. */
    public static Checkpoint read(byte[] bytes, String sourceName) {
        try {
            return read(new ByteArrayInputStream(bytes), sourceName);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a byte array does not fail to read
        }
    }

    /** @param lazy the file again, to read fp32 tensors from on demand; null: every tensor is read into the heap now */
    private static Checkpoint read(ReadableByteChannel channel, String source, long knownSize, FileChannel lazy)
            throws IOException {
        ChecksummedInput input = new ChecksummedInput(channel, source);
        try {
            Header header = readHeader(input, source);
            FileLayout layout = FileLayout.of(header, source);
            long expectedBytes = layout.totalBytes();
            input.expectBytes(expectedBytes, header.describe());
            if (knownSize >= 0) {
                // with the size known up front, a short or long file fails before gigabytes are allocated
                if (knownSize < expectedBytes) {
                    throw new CheckpointException(Problem.TRUNCATED, source, "file is " + knownSize
                            + " bytes but its header (" + header.describe() + ") describes " + expectedBytes + " bytes");
                }
                if (knownSize > expectedBytes) {
                    throw trailing(source, knownSize - expectedBytes, expectedBytes, header);
                }
            }
            Map<String, Matrix> tensors = layout.readTensors(input, lazy, source);
            long trailing = input.countRemainingBytes();
            if (trailing > 0) {
                throw trailing(source, trailing, expectedBytes, header);
            }
            LlamaWeights weights = assemble(header, tensors);
            String format = header.version() == 2 ? Checkpoint.q80Format(header.groupSize()) : Checkpoint.FP32;
            return new Checkpoint(weights, source, header.version(), format, input.sha256Hex());
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    private static CheckpointException trailing(String source, long extra, long expected, Header header) {
        return new CheckpointException(Problem.TRAILING_DATA, source, extra + " unexpected bytes after the "
                + expected + " bytes the header (" + header.describe() + ") describes");
    }

    // ---------------------------------------------------------------- header

    /**
     * The file header, normalized across versions.
     *
     * @param groupSize Q8_0 group size for version 2, 0 otherwise
     */
    record Header(int version, int dim, int hiddenDim, int layers, int heads, int kvHeads, int vocabSize,
                  int seqLen, boolean sharedClassifier, int groupSize) {

        int headSize() {
            return dim / heads;
        }

        int kvDim() {
            return kvHeads * headSize();
        }

        String describe() {
            return "v" + version + ", dim=" + dim + ", hidden_dim=" + hiddenDim + ", n_layers=" + layers
                    + ", n_heads=" + heads + ", n_kv_heads=" + kvHeads + ", vocab_size=" + vocabSize
                    + ", seq_len=" + seqLen + (sharedClassifier ? ", shared classifier" : ", separate classifier")
                    + (version == 2 ? ", group_size=" + groupSize : "");
        }
    }

    private static Header readHeader(ChecksummedInput input, String source) {
        int first = input.readInt("the header");
        if (first == MAGIC) {
            return readVersionedHeader(input, source);
        }
        int[] rest = new int[6];
        for (int i = 0; i < rest.length; i++) {
            rest[i] = input.readInt("the legacy v0 header");
        }
        int dim = first;
        int hiddenDim = rest[0];
        int vocab = rest[4];
        // v0 marks a separate classifier with a negative vocabulary size
        Header header = new Header(0, dim, hiddenDim, rest[1], rest[2], rest[3],
                vocab == Integer.MIN_VALUE ? vocab : Math.abs(vocab), rest[5], vocab > 0, 0);
        String legacyProblem = headerProblem(header);
        if (legacyProblem != null) {
            // export.py's header puts the version where v0 keeps hidden_dim: a damaged magic shows up as
            // a nonsense dim followed by 1 or 2, and deserves a message about the magic
            if (hiddenDim == 1 || hiddenDim == 2) {
                throw new CheckpointException(Problem.BAD_MAGIC, source, String.format(
                        "starts with 0x%08x instead of the magic 0x%08x (\"ak42\") although version %d follows it",
                        first, MAGIC, hiddenDim));
            }
            throw invalid(source, header, legacyProblem);
        }
        return header;
    }

    private static Header readVersionedHeader(ChecksummedInput input, String source) {
        int version = input.readInt("the version");
        if (version != 1 && version != 2) {
            throw new CheckpointException(Problem.UNSUPPORTED_VERSION, source,
                    "version " + version + " is not a llama2.c checkpoint version this reader knows (1: fp32, 2: Q8_0)");
        }
        int[] params = new int[7];
        for (int i = 0; i < params.length; i++) {
            params[i] = input.readInt("the v" + version + " header");
        }
        int sharedFlag = input.readUnsignedByte("the v" + version + " header");
        int groupSize = version == 2 ? input.readInt("the v2 header") : 0;
        input.skip(VERSIONED_HEADER_BYTES - input.position(), "the v" + version + " header padding");
        if (sharedFlag > 1) {
            throw new CheckpointException(Problem.INVALID_HEADER, source,
                    "shared_classifier flag is " + sharedFlag + ", must be 0 or 1");
        }
        Header header = new Header(version, params[0], params[1], params[2], params[3], params[4], params[5],
                params[6], sharedFlag == 1, groupSize);
        validate(header, source);
        if (version == 2 && groupSize <= 0) {
            throw new CheckpointException(Problem.INVALID_HEADER, source,
                    "group_size is " + groupSize + ", must be positive");
        }
        return header;
    }

    private static void validate(Header header, String source) {
        String problem = headerProblem(header);
        if (problem != null) {
            throw invalid(source, header, problem);
        }
    }

    /** What makes the header impossible, or null when it describes a model. */
    private static String headerProblem(Header h) {
        String outOfRange = firstOutOfRange(
                "dim", h.dim(), MAX_DIM,
                "hidden_dim", h.hiddenDim(), MAX_HIDDEN_DIM,
                "n_layers", h.layers(), MAX_LAYERS,
                "n_heads", h.heads(), MAX_DIM,
                "n_kv_heads", h.kvHeads(), MAX_DIM,
                "vocab_size", h.vocabSize(), MAX_VOCAB,
                "seq_len", h.seqLen(), MAX_SEQ_LEN);
        if (outOfRange != null) {
            return outOfRange;
        }
        if (h.dim() % h.heads() != 0) {
            return "dim " + h.dim() + " is not divisible by n_heads " + h.heads();
        }
        if (h.heads() % h.kvHeads() != 0) {
            return "n_heads " + h.heads() + " is not divisible by n_kv_heads " + h.kvHeads();
        }
        if (h.headSize() % 2 != 0) {
            return "head size " + h.headSize() + " is odd; rotary embedding rotates pairs";
        }
        return null;
    }

    /** Arguments in threes: name, value, inclusive maximum. */
    private static String firstOutOfRange(Object... nameValueMax) {
        for (int i = 0; i < nameValueMax.length; i += 3) {
            int value = (Integer) nameValueMax[i + 1];
            int max = (Integer) nameValueMax[i + 2];
            if (value <= 0 || value > max) {
                return nameValueMax[i] + " is " + value + ", must be in [1, " + max + "]";
            }
        }
        return null;
    }

    private static CheckpointException invalid(String source, Header h, String detail) {
        return new CheckpointException(Problem.INVALID_HEADER, source, detail + " (header: " + h.describe() + ")");
    }

    // ---------------------------------------------------------------- layout

    /** One tensor in file order. {@code unused} marks data that is read past (v0's rotary tables). */
    record TensorSpec(String name, int rows, int cols, boolean unused) {

        long values() {
            return (long) rows * cols;
        }
    }

    /**
     * Where each tensor sits in a file of the header's version.
     *
     * @param fp32      tensors stored as fp32, in file order
     * @param quantized tensors stored as Q8_0 after the fp32 ones (version 2 only), each as int8 values then scales
     */
    record FileLayout(Header header, List<TensorSpec> fp32, List<TensorSpec> quantized) {

        static FileLayout of(Header h, String source) {
            List<TensorSpec> fp32 = new ArrayList<>();
            List<TensorSpec> quantized = new ArrayList<>();
            switch (h.version()) {
                case 0 -> {
                    fp32.add(tokenEmbedding(h));
                    fp32.addAll(attentionNorms(h));
                    fp32.addAll(attentionMatrices(h));
                    fp32.addAll(ffnNorms(h));
                    fp32.addAll(ffnMatrices(h));
                    fp32.add(finalNorm(h));
                    // run.c skips seq_len * head_size / 2 floats twice: freq_cis_real, then freq_cis_imag
                    int rotaryRows = h.seqLen();
                    int rotaryCols = h.headSize() / 2;
                    fp32.add(new TensorSpec("freq_cis_real", rotaryRows, rotaryCols, true));
                    fp32.add(new TensorSpec("freq_cis_imag", rotaryRows, rotaryCols, true));
                    if (!h.sharedClassifier()) {
                        fp32.add(classifier(h));
                    }
                }
                case 1 -> {
                    fp32.addAll(attentionNorms(h));
                    fp32.addAll(ffnNorms(h));
                    fp32.add(finalNorm(h));
                    fp32.add(tokenEmbedding(h));
                    fp32.addAll(attentionMatrices(h));
                    fp32.addAll(ffnMatrices(h));
                    if (!h.sharedClassifier()) {
                        fp32.add(classifier(h));
                    }
                }
                case 2 -> {
                    fp32.addAll(attentionNorms(h));
                    fp32.addAll(ffnNorms(h));
                    fp32.add(finalNorm(h));
                    quantized.add(tokenEmbedding(h));
                    quantized.addAll(attentionMatrices(h));
                    quantized.addAll(ffnMatrices(h));
                    if (!h.sharedClassifier()) {
                        quantized.add(classifier(h));
                    }
                }
                default -> throw new IllegalArgumentException("version " + h.version());
            }
            FileLayout layout = new FileLayout(h, List.copyOf(fp32), List.copyOf(quantized));
            layout.checkTensorSizes(source);
            return layout;
        }

        private void checkTensorSizes(String source) {
            List<TensorSpec> loaded = new ArrayList<>(quantized);
            fp32.stream().filter(spec -> !spec.unused()).forEach(loaded::add);
            for (TensorSpec spec : loaded) {
                if (spec.values() > MAX_TENSOR_VALUES) {
                    throw invalid(source, header, spec.name() + " would hold " + spec.values()
                            + " values, more than one Java array can");
                }
            }
            for (TensorSpec spec : quantized) {
                if (spec.values() % header.groupSize() != 0) {
                    throw new CheckpointException(Problem.GROUP_SIZE_MISMATCH, source, "group_size "
                            + header.groupSize() + " does not divide " + spec.name() + " (" + spec.rows() + "x"
                            + spec.cols() + " = " + spec.values() + " values)");
                }
            }
        }

        long totalBytes() {
            long bytes = header.version() == 0 ? LEGACY_HEADER_BYTES : VERSIONED_HEADER_BYTES;
            for (TensorSpec spec : fp32) {
                bytes += spec.values() * Float.BYTES;
            }
            for (TensorSpec spec : quantized) {
                bytes += spec.values() + spec.values() / header.groupSize() * Float.BYTES;
            }
            return bytes;
        }

        Map<String, Matrix> readTensors(ChecksummedInput input, FileChannel lazy, String source) {
            Map<String, Matrix> tensors = new HashMap<>();
            for (TensorSpec spec : fp32) {
                if (spec.unused()) {
                    input.skip(spec.values() * Float.BYTES, spec.name());
                } else if (lazy != null) {
                    long offset = input.position();
                    input.skip(spec.values() * Float.BYTES, spec.name());
                    int cols = spec.cols();
                    tensors.put(spec.name(), Matrix.lazyRows(spec.name(), spec.rows(), cols,
                            (first, count, dst, at) -> readFloats(lazy, source, spec.name(),
                                    offset + (long) first * cols * Float.BYTES, dst, at, count * cols)));
                } else {
                    float[] data = new float[(int) spec.values()];
                    input.readFloats(data, spec.name());
                    tensors.put(spec.name(), new Matrix(spec.name(), spec.rows(), spec.cols(), data));
                }
            }
            if (quantized.isEmpty()) {
                return tensors;
            }
            // export.py (since the runq.c fix) writes each tensor's int8 values directly followed by its
            // group scales, the order runq.c's init_quantized_tensors maps them in
            int groupSize = header.groupSize();
            int largest = quantized.stream().mapToInt(spec -> (int) spec.values()).max().orElseThrow();
            byte[] values = new byte[largest];
            float[] scales = new float[largest / groupSize];
            for (TensorSpec spec : quantized) {
                int count = (int) spec.values();
                input.readBytes(values, count, spec.name() + " (int8 values)");
                input.readFloats(scales, count / groupSize, spec.name() + " (group scales)");
                tensors.put(spec.name(), new Matrix(spec.name(), spec.rows(), spec.cols(),
                        dequantize(values, count, scales, groupSize)));
            }
            return tensors;
        }
    }

    /** {@code count} little-endian floats at {@code position} of the file, read a bounded slice at a time. */
    static void readFloats(FileChannel file, String source, String tensor, long position, float[] dst, int at, int count) {
        java.nio.ByteBuffer buffer = java.nio.ByteBuffer.allocate(Math.min(count, 1 << 20) * Float.BYTES)
                .order(java.nio.ByteOrder.LITTLE_ENDIAN);
        try {
            for (int done = 0; done < count; ) {
                int n = Math.min(count - done, buffer.capacity() / Float.BYTES);
                buffer.clear().limit(n * Float.BYTES);
                long from = position + (long) done * Float.BYTES;
                while (buffer.hasRemaining()) {
                    if (file.read(buffer, from + buffer.position()) < 0) {
                        throw new CheckpointException(Problem.TRUNCATED, source, "the file ends inside " + tensor
                                + ": it changed after it was loaded");
                    }
                }
                buffer.flip().asFloatBuffer().get(dst, at + done, n);
                done += n;
            }
        } catch (IOException e) {
            throw new UncheckedIOException(source + ": reading " + tensor + " failed", e);
        }
    }

    /** Q8_0 as runq.c reads it: value = int8 * its group's scale, in fp32. */
    static float[] dequantize(byte[] q, int count, float[] scales, int groupSize) {
        float[] out = new float[count];
        for (int group = 0, base = 0; base < count; group++, base += groupSize) {
            float scale = scales[group];
            for (int i = base; i < base + groupSize; i++) {
                out[i] = q[i] * scale;
            }
        }
        return out;
    }

    private static TensorSpec tokenEmbedding(Header h) {
        return new TensorSpec("tok_embeddings.weight", h.vocabSize(), h.dim(), false);
    }

    private static TensorSpec classifier(Header h) {
        return new TensorSpec("output.weight", h.vocabSize(), h.dim(), false);
    }

    private static TensorSpec finalNorm(Header h) {
        return new TensorSpec("norm.weight", 1, h.dim(), false);
    }

    private static List<TensorSpec> attentionNorms(Header h) {
        return perLayer(h, "attention_norm.weight", 1, h.dim());
    }

    private static List<TensorSpec> ffnNorms(Header h) {
        return perLayer(h, "ffn_norm.weight", 1, h.dim());
    }

    /** wq, wk, wv, wo, each for all layers before the next kind, as every llama2.c version writes them. */
    private static List<TensorSpec> attentionMatrices(Header h) {
        List<TensorSpec> specs = new ArrayList<>();
        specs.addAll(perLayer(h, "attention.wq.weight", h.dim(), h.dim()));
        specs.addAll(perLayer(h, "attention.wk.weight", h.kvDim(), h.dim()));
        specs.addAll(perLayer(h, "attention.wv.weight", h.kvDim(), h.dim()));
        specs.addAll(perLayer(h, "attention.wo.weight", h.dim(), h.dim()));
        return specs;
    }

    private static List<TensorSpec> ffnMatrices(Header h) {
        List<TensorSpec> specs = new ArrayList<>();
        specs.addAll(perLayer(h, "feed_forward.w1.weight", h.hiddenDim(), h.dim()));
        specs.addAll(perLayer(h, "feed_forward.w2.weight", h.dim(), h.hiddenDim()));
        specs.addAll(perLayer(h, "feed_forward.w3.weight", h.hiddenDim(), h.dim()));
        return specs;
    }

    private static List<TensorSpec> perLayer(Header h, String suffix, int rows, int cols) {
        List<TensorSpec> specs = new ArrayList<>(h.layers());
        for (int layer = 0; layer < h.layers(); layer++) {
            specs.add(new TensorSpec(layerName(layer, suffix), rows, cols, false));
        }
        return specs;
    }

    private static String layerName(int layer, String suffix) {
        return "layers." + layer + "." + suffix;
    }

    // ---------------------------------------------------------------- assembly

    private static LlamaWeights assemble(Header h, Map<String, Matrix> tensors) {
        LlamaConfig config = new LlamaConfig("llama", h.dim(), h.hiddenDim(), h.layers(), h.heads(), h.kvHeads(),
                h.vocabSize(), h.seqLen(), NORM_EPS, ROPE_THETA, RopeLayout.ADJACENT_PAIRS, h.sharedClassifier(), false);
        List<LayerWeights> layers = new ArrayList<>(h.layers());
        for (int layer = 0; layer < h.layers(); layer++) {
            int l = layer;
            Function<String, Matrix> get = suffix -> tensors.get(layerName(l, suffix));
            layers.add(new LayerWeights(
                    get.apply("attention_norm.weight"),
                    get.apply("attention.wq.weight"),
                    get.apply("attention.wk.weight"),
                    get.apply("attention.wv.weight"),
                    get.apply("attention.wo.weight"),
                    null, null, null,
                    get.apply("ffn_norm.weight"),
                    get.apply("feed_forward.w1.weight"),
                    get.apply("feed_forward.w2.weight"),
                    get.apply("feed_forward.w3.weight")));
        }
        return new LlamaWeights(config, tensors.get("tok_embeddings.weight"), layers, tensors.get("norm.weight"),
                h.sharedClassifier() ? null : tensors.get("output.weight"));
    }
}
