package io.tandem.model.onnx;

import static io.tandem.model.onnx.OnnxGraph.Attr.f;
import static io.tandem.model.onnx.OnnxGraph.Attr.i;
import static io.tandem.model.onnx.OnnxGraph.attrs;

import io.tandem.model.llama.LayerWeights;
import io.tandem.model.llama.LlamaConfig;
import io.tandem.model.llama.Matrix;
import io.tandem.model.llama.RopeLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * The pieces of a Llama decoder as ONNX nodes, in either flavour. Each method takes and returns
 * value names of the graph being built, so tests can wire a single piece into a tiny graph and
 * compare it with the plain Java reference.
 *
 * <p>Activations are {@code [1, S, features]} in the one-sequence graphs. {@link #batched()} makes
 * the pieces batch-agnostic for the batched graphs ({@code [B, S, features]}), whose positions come
 * from {@link #batchedPositions} instead of the past's length.
 */
public final class DecoderOps {

    private final OnnxGraph g;
    private final LlamaConfig config;
    private final WeightPrecision precision;
    private final GraphFlavour flavour;
    private final ActivationPrecision activations;
    private final WeightSource source;
    /**
     * The first dimension in Reshape targets: 1 in the one-sequence graphs, 0 ("copy the input's")
     * in batched graphs, whose batch dimension is dynamic.
     */
    private long batchDim = 1;
    /** Whether {@link #positions} takes the past's length from the {@link GraphNames#PAST_LENGTH} input. */
    private boolean pastLengthInput;

    /** @param source where quantized weights may come from already quantized (GGUF Q4_0/Q8_0 blocks) */
    public DecoderOps(OnnxGraph graph, LlamaConfig config, WeightPrecision precision, GraphFlavour flavour,
                      ActivationPrecision activations, WeightSource source) {
        this.g = graph;
        this.config = config;
        this.precision = precision;
        this.flavour = flavour;
        this.activations = activations;
        this.source = source;
    }

    public DecoderOps(OnnxGraph graph, LlamaConfig config, WeightPrecision precision, GraphFlavour flavour,
                      ActivationPrecision activations) {
        this(graph, config, precision, flavour, activations, WeightSource.FP32);
    }

    /** Pieces that compute exactly what their weights say (fp32 activations). */
    public DecoderOps(OnnxGraph graph, LlamaConfig config, WeightPrecision precision, GraphFlavour flavour) {
        this(graph, config, precision, flavour, ActivationPrecision.FP32);
    }

    /** Makes the pieces batch-agnostic: Reshape targets copy the batch dimension instead of fixing it to 1. */
    public DecoderOps batched() {
        batchDim = 0;
        return this;
    }

    /**
     * With GroupQueryAttention, makes {@link #positions} read the past's length from the input
     * {@link GraphNames#PAST_LENGTH} (-1: the past's shape), so a caller may feed a preallocated
     * cache of larger capacity as both past and present. Other kernels ignore it.
     */
    public DecoderOps withPastLengthInput() {
        pastLengthInput = true;
        return this;
    }

    /** Position-dependent values shared by every layer of one graph. */
    public record Positions(String pastLength, String positionIds, String cos, String sin, String mask,
                            String seqLensK, String totalLength, String cosCache, String sinCache) {
    }

    /**
     * Derives positions from the first layer's past key (its third dimension is the number of
     * tokens already processed) and the current sequence length, so the graph needs no position
     * or mask inputs and every partition computes its own.
     */
    public Positions positions(String hidden, String pastKey) {
        String past = g.op("Shape", attrs(i("start", 2), i("end", 3)), pastKey);
        String seq = g.op("Shape", attrs(i("start", 1), i("end", 2)), hidden);
        String[] tables = rotaryTables();
        if (attentionKernel(flavour, config) == AttentionKernel.GROUP_QUERY_ATTENTION) {
            if (pastLengthInput) {
                // A fed past_length lets the caller pass a preallocated cache of any capacity as both past
                // and (pinned) present: GroupQueryAttention then writes the new keys in place and reads
                // only the first seqlens_k + 1 positions, so a step never copies the cache.
                String fed = g.input(GraphNames.PAST_LENGTH, OnnxGraph.INT64, 1L);
                past = g.op("Where", g.op("Less", fed, g.axes(0)), past, fed);
            }
            String total = g.op("Add", past, seq);
            String totalInt = g.op("Cast", attrs(i("to", OnnxGraph.INT32)), total);
            String seqLensK = g.op("Sub", totalInt, g.initializer("one_i32", OnnxGraph.INT32, new long[] {1},
                    ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 1)));
            String totalScalar = g.op("Squeeze", totalInt, g.axes(0));
            return new Positions(past, null, null, null, null, seqLensK, totalScalar, tables[0], tables[1]);
        }
        String total = g.op("Add", past, seq);
        String pastScalar = g.op("Squeeze", past, g.axes(0));
        String totalScalar = g.op("Squeeze", total, g.axes(0));
        String positions = g.op("Range", pastScalar, totalScalar, g.scalarLong(1));
        String cos = g.op("Gather", attrs(i("axis", 0)), tables[0], positions);
        String sin = g.op("Gather", attrs(i("axis", 0)), tables[1], positions);
        String keyPositions = g.op("Range", g.scalarLong(0), totalScalar, g.scalarLong(1));
        String future = g.op("Greater",
                g.op("Unsqueeze", keyPositions, g.axes(0)),
                g.op("Unsqueeze", positions, g.axes(1)));
        String mask = g.op("Where", future, g.scalar(Float.NEGATIVE_INFINITY), g.scalar(0f));
        String positionIds = g.op("Unsqueeze", positions, g.axes(0));
        return new Positions(past, positionIds, cos, sin, mask, null, null, tables[0], tables[1]);
    }

    /**
     * Positions of a batched graph, whose rows are sequences of different lengths: {@code pastLengths}
     * (int64 {@code [B]}) says how many of each row's past positions are real. With
     * GroupQueryAttention the past is right-padded and the kernel reads {@code seqlens_k} (each row's
     * total length - 1) and {@code total_sequence_length} (the batch's largest total). Otherwise each
     * row's new keys sit after the common padded past, and a mask {@code [B, 1, 1, S, T]} hides the
     * padding and the future: a key is visible when it is real (before the row's past length, or new)
     * and its position in the row is not after the query's.
     */
    public Positions batchedPositions(String hidden, String pastLengths, String pastKey) {
        String seq = g.op("Shape", attrs(i("start", 1), i("end", 2)), hidden);
        String[] tables = rotaryTables();
        if (attentionKernel(flavour, config) == AttentionKernel.GROUP_QUERY_ATTENTION) {
            String seqLensK = g.op("Cast", attrs(i("to", OnnxGraph.INT32)),
                    g.op("Sub", g.op("Add", pastLengths, seq), g.axes(1)));
            String longest = g.op("ReduceMax", attrs(i("keepdims", 1)), pastLengths);
            String total = g.op("Squeeze", g.op("Cast", attrs(i("to", OnnxGraph.INT32)), g.op("Add", longest, seq)), g.axes(0));
            return new Positions(null, null, null, null, null, seqLensK, total, tables[0], tables[1]);
        }
        String past = g.op("Shape", attrs(i("start", 2), i("end", 3)), pastKey);
        String pastScalar = g.op("Squeeze", past, g.axes(0));
        String seqScalar = g.op("Squeeze", seq, g.axes(0));
        String offsets = g.op("Range", g.scalarLong(0), seqScalar, g.scalarLong(1));
        String lengths = g.op("Unsqueeze", pastLengths, g.axes(1));
        String positions = g.op("Add", lengths, g.op("Unsqueeze", offsets, g.axes(0)));
        String cos = g.op("Unsqueeze", g.op("Gather", attrs(i("axis", 0)), tables[0], positions), g.axes(1));
        String sin = g.op("Unsqueeze", g.op("Gather", attrs(i("axis", 0)), tables[1], positions), g.axes(1));
        String keys = g.op("Range", g.scalarLong(0), g.op("Add", pastScalar, seqScalar), g.scalarLong(1));
        String isNew = g.op("GreaterOrEqual", keys, pastScalar);
        String keyRow = g.op("Unsqueeze", keys, g.axes(0));
        String rowPosition = g.op("Where", isNew, g.op("Add", g.op("Sub", keyRow, pastScalar), lengths), keyRow);
        String real = g.op("Or", g.op("Less", keyRow, lengths), isNew);
        String notAfter = g.op("LessOrEqual", g.op("Unsqueeze", rowPosition, g.axes(1)),
                g.op("Unsqueeze", positions, g.axes(2)));
        String visible = g.op("And", g.op("Unsqueeze", real, g.axes(1)), notAfter);
        String mask = g.op("Unsqueeze", g.op("Where", visible, g.scalar(0f), g.scalar(Float.NEGATIVE_INFINITY)), g.axes(1, 2));
        return new Positions(past, positions, cos, sin, mask, null, null, tables[0], tables[1]);
    }

    /** cos and sin of {@code position * theta^(-2i/headDim)}, {@code [contextLength, headDim/2]}. */
    private String[] rotaryTables() {
        int half = config.headDim() / 2;
        int ctx = config.contextLength();
        float[] cos = new float[ctx * half];
        float[] sin = new float[ctx * half];
        for (int p = 0; p < ctx; p++) {
            for (int j = 0; j < half; j++) {
                float angle = p * RotaryTables.frequency(config, j);
                cos[p * half + j] = (float) Math.cos(angle);
                sin[p * half + j] = (float) Math.sin(angle);
            }
        }
        long[] dims = {ctx, half};
        return new String[] {g.floats("rope_cos", dims, cos), g.floats("rope_sin", dims, sin)};
    }

    /** RMSNorm of {@code x} with {@code weight}. */
    public String rmsNorm(String x, Matrix weight) {
        String w = g.floats(weight.name(), new long[] {weight.cols()}, weight.data());
        if (flavour == GraphFlavour.FAST) {
            return g.op("SimplifiedLayerNormalization", attrs(i("axis", -1), f("epsilon", config.normEps())), x, w);
        }
        String meanSquare = g.op("ReduceMean", attrs(i("keepdims", 1)), g.op("Mul", x, x), g.axes(-1));
        String rms = g.op("Sqrt", g.op("Add", meanSquare, g.scalar(config.normEps())));
        return g.op("Mul", g.op("Div", x, rms), w);
    }

    /**
     * Adds {@code delta} to the residual stream and normalises the sum: returns
     * {@code [normalized, sum]}. The fast flavour fuses both into one kernel.
     */
    public String[] addAndNorm(String delta, String residual, Matrix weight) {
        if (flavour == GraphFlavour.FAST) {
            String w = g.floats(weight.name(), new long[] {weight.cols()}, weight.data());
            String[] out = g.node(OnnxModel.MS_DOMAIN, "SkipSimplifiedLayerNormalization", 4,
                    attrs(f("epsilon", config.normEps())), delta, residual, w);
            return new String[] {out[0], out[3]};
        }
        String sum = g.op("Add", residual, delta);
        return new String[] {rmsNorm(sum, weight), sum};
    }

    /** {@code x W^T} for a weight {@code [out, in]}, in the graph's precision. */
    public String linear(String x, Matrix w) {
        return linear(x, w.name(), w);
    }

    /**
     * {@code x W^T} for the rows of {@code parts} stacked into one weight called {@code name} (a fused
     * projection). Quantized, each part is quantized on its own (blocks never span rows, so that is the
     * same as quantizing the stack), which lets parts the file stored in the graph's layout keep their codes.
     */
    private String linear(String x, String name, Matrix... parts) {
        if (!precision.quantized()) {
            Matrix w = parts.length == 1 ? parts[0] : stackRows(name, parts);
            return g.op("MatMul", x, g.floats(name, new long[] {w.cols(), w.rows()}, transpose(w)));
        }
        List<BlockQuantized> quantized = new ArrayList<>(parts.length);
        for (Matrix part : parts) {
            quantized.add(source.quantize(part, precision));
        }
        BlockQuantized q = quantized.size() == 1 ? quantized.getFirst() : BlockQuantized.stackRows(quantized);
        return flavour == GraphFlavour.FAST ? matMulNBits(x, name, q) : dequantizedMatMul(x, name, q);
    }

    private String matMulNBits(String x, String name, BlockQuantized q) {
        int blocks = q.blocksPerRow();
        int blob = WeightPrecision.BLOCK_SIZE * precision.bits() / 8;
        ByteBuffer packed = ByteBuffer.allocate(q.rows() * blocks * blob);
        int zero = precision.zeroPoint();
        for (int n = 0; n < q.rows(); n++) {
            for (int b = 0; b < blocks; b++) {
                int base = (n * blocks + b) * blob;
                for (int j = 0; j < WeightPrecision.BLOCK_SIZE; j++) {
                    int k = b * WeightPrecision.BLOCK_SIZE + j;
                    int code = k < q.cols() ? q.code(n, k) : zero;
                    if (precision.bits() == 8) {
                        packed.put(base + j, (byte) code);
                    } else {
                        int at = base + j / 2;
                        int shifted = (j % 2 == 0) ? code : code << 4;
                        packed.put(at, (byte) (packed.get(at) | shifted));
                    }
                }
            }
        }
        String weight = g.initializer(name + ".q" + precision.bits(), OnnxGraph.UINT8,
                new long[] {q.rows(), blocks, blob}, packed);
        String scales = g.floats(name + ".scales", new long[] {(long) q.rows() * blocks}, q.scales());
        return g.node(OnnxModel.MS_DOMAIN, "MatMulNBits", 1,
                attrs(i("K", q.cols()), i("N", q.rows()), i("bits", precision.bits()),
                        i("block_size", WeightPrecision.BLOCK_SIZE), i("accuracy_level", activations.accuracyLevel())),
                x, weight, scales)[0];
    }

    private String dequantizedMatMul(String x, String name, BlockQuantized q) {
        int rows = q.rows();
        int cols = q.cols();
        int blocks = q.blocksPerRow();
        int zero = precision.zeroPoint();
        // DequantizeLinear sees W^T, [K, N], blocked along K (axis 0): codes become signed values.
        ByteBuffer values;
        int type;
        if (precision == WeightPrecision.INT8) {
            type = OnnxGraph.INT8;
            values = ByteBuffer.allocate(rows * cols);
            for (int k = 0; k < cols; k++) {
                for (int n = 0; n < rows; n++) {
                    values.put(k * rows + n, (byte) (q.code(n, k) - zero));
                }
            }
        } else {
            type = OnnxGraph.INT4;
            values = ByteBuffer.allocate((rows * cols + 1) / 2);
            for (int k = 0; k < cols; k++) {
                for (int n = 0; n < rows; n++) {
                    int index = k * rows + n;
                    int nibble = (q.code(n, k) - zero) & 0x0F;
                    int at = index / 2;
                    values.put(at, (byte) (values.get(at) | (index % 2 == 0 ? nibble : nibble << 4)));
                }
            }
        }
        float[] scales = new float[blocks * rows];
        for (int b = 0; b < blocks; b++) {
            for (int n = 0; n < rows; n++) {
                scales[b * rows + n] = q.scale(n, b);
            }
        }
        String weight = g.initializer(name + ".q" + precision.bits(), type, new long[] {cols, rows}, values);
        String scale = g.floats(name + ".scales", new long[] {blocks, rows}, scales);
        String dequantized = g.op("DequantizeLinear",
                attrs(i("axis", 0), i("block_size", WeightPrecision.BLOCK_SIZE)), weight, scale);
        return g.op("MatMul", x, dequantized);
    }

    /** Self-attention of normalised {@code x}: returns {@code [output, presentKey, presentValue]}. */
    public String[] attention(String x, LayerWeights layer, String pastKey, String pastValue, Positions pos) {
        return switch (attentionKernel(flavour, config)) {
            case GROUP_QUERY_ATTENTION -> fusedAttention(x, layer, pastKey, pastValue, pos);
            case ROTARY_EMBEDDING, STANDARD_OPS -> portableAttention(x, layer, pastKey, pastValue, pos);
        };
    }

    /** The attention kernels a graph can use; recorded in the manifest. */
    public enum AttentionKernel {
        /** com.microsoft GroupQueryAttention with fused rotary: needs a head size that is a multiple of 16. */
        GROUP_QUERY_ATTENTION,
        /** com.microsoft RotaryEmbedding, then attention from standard operators. */
        ROTARY_EMBEDDING,
        /** Standard operators only. */
        STANDARD_OPS
    }

    public static AttentionKernel attentionKernel(GraphFlavour flavour, LlamaConfig config) {
        if (flavour == GraphFlavour.PORTABLE) {
            return AttentionKernel.STANDARD_OPS;
        }
        // ONNX Runtime's CPU GroupQueryAttention rejects head sizes that are not a multiple of 16.
        return config.headDim() % 16 == 0 ? AttentionKernel.GROUP_QUERY_ATTENTION : AttentionKernel.ROTARY_EMBEDDING;
    }

    private String[] fusedAttention(String x, LayerWeights layer, String pastKey, String pastValue, Positions pos) {
        String packed = linear(x, layer.wq().name().replace("wq", "wqkv"), layer.wq(), layer.wk(), layer.wv());
        if (layer.hasQkvBias()) {
            Matrix bias = concatVectors(layer.bq().name().replace("bq", "bqkv"), layer.bq(), layer.bk(), layer.bv());
            packed = g.op("Add", packed, g.floats(bias.name(), new long[] {bias.cols()}, bias.data()));
        }
        String[] out = g.node(OnnxModel.MS_DOMAIN, "GroupQueryAttention", 3,
                attrs(i("num_heads", config.heads()), i("kv_num_heads", config.kvHeads()),
                        f("scale", (float) (1.0 / Math.sqrt(config.headDim()))),
                        i("do_rotary", 1),
                        i("rotary_interleaved", config.ropeLayout() == RopeLayout.ADJACENT_PAIRS ? 1 : 0)),
                packed, "", "", pastKey, pastValue, pos.seqLensK(), pos.totalLength(), pos.cosCache(), pos.sinCache());
        return new String[] {linear(out[0], layer.wo()), out[1], out[2]};
    }

    private String[] portableAttention(String x, LayerWeights layer, String pastKey, String pastValue, Positions pos) {
        int heads = config.heads();
        int kvHeads = config.kvHeads();
        int hd = config.headDim();
        String q = projectHeads(x, layer.wq(), layer.bq(), heads);
        String k = projectHeads(x, layer.wk(), layer.bk(), kvHeads);
        String v = projectHeads(x, layer.wv(), layer.bv(), kvHeads);
        q = rotate(q, heads, pos);
        k = rotate(k, kvHeads, pos);
        String presentKey = g.op("Concat", attrs(i("axis", 2)), pastKey, k);
        String presentValue = g.op("Concat", attrs(i("axis", 2)), pastValue, v);
        // Grouped-query attention by broadcasting: queries [1, kvH, group, S, hd] against keys [1, kvH, 1, T, hd].
        int group = heads / kvHeads;
        String qGrouped = g.op("Reshape", q, g.axes(batchDim, kvHeads, group, -1, hd));
        String kT = g.op("Transpose", attrs(OnnxGraph.Attr.ints("perm", 0, 1, 3, 2)), presentKey);
        String scores = g.op("MatMul", qGrouped, g.op("Unsqueeze", kT, g.axes(2)));
        scores = g.op("Mul", scores, g.scalar((float) (1.0 / Math.sqrt(hd))));
        scores = g.op("Add", scores, pos.mask());
        String probs = g.op("Softmax", attrs(i("axis", -1)), scores);
        String context = g.op("MatMul", probs, g.op("Unsqueeze", presentValue, g.axes(2)));
        context = g.op("Reshape", context, g.axes(batchDim, heads, -1, hd));
        context = g.op("Transpose", attrs(OnnxGraph.Attr.ints("perm", 0, 2, 1, 3)), context);
        context = g.op("Reshape", context, g.axes(batchDim, -1, (long) heads * hd));
        return new String[] {linear(context, layer.wo()), presentKey, presentValue};
    }

    /** {@code [1, S, D] -> [1, heads, S, headDim]}. */
    private String projectHeads(String x, Matrix w, Matrix bias, int heads) {
        String y = linear(x, w);
        if (bias != null) {
            y = g.op("Add", y, g.floats(bias.name(), new long[] {bias.cols()}, bias.data()));
        }
        y = g.op("Reshape", y, g.axes(batchDim, -1, heads, config.headDim()));
        return g.op("Transpose", attrs(OnnxGraph.Attr.ints("perm", 0, 2, 1, 3)), y);
    }

    /** Rotary embedding of {@code [1, heads, S, hd]} with the portable position tables. */
    public String rotate(String x, int heads, Positions pos) {
        int hd = config.headDim();
        int half = hd / 2;
        if (flavour == GraphFlavour.FAST) {
            return g.node(OnnxModel.MS_DOMAIN, "RotaryEmbedding", 1,
                    attrs(i("interleaved", config.ropeLayout() == RopeLayout.ADJACENT_PAIRS ? 1 : 0)),
                    x, pos.positionIds(), pos.cosCache(), pos.sinCache())[0];
        }
        if (config.ropeLayout() == RopeLayout.ADJACENT_PAIRS) {
            String pairs = g.op("Reshape", x, g.axes(batchDim, heads, -1, half, 2));
            String[] parts = g.node("", "Split", 2, attrs(i("axis", -1), i("num_outputs", 2)), pairs);
            String cos = g.op("Unsqueeze", pos.cos(), g.axes(-1));
            String sin = g.op("Unsqueeze", pos.sin(), g.axes(-1));
            String even = g.op("Sub", g.op("Mul", parts[0], cos), g.op("Mul", parts[1], sin));
            String odd = g.op("Add", g.op("Mul", parts[0], sin), g.op("Mul", parts[1], cos));
            String joined = g.op("Concat", attrs(i("axis", -1)), even, odd);
            return g.op("Reshape", joined, g.axes(batchDim, heads, -1, hd));
        }
        String[] parts = g.node("", "Split", 2, attrs(i("axis", -1), i("num_outputs", 2)), x);
        String first = g.op("Sub", g.op("Mul", parts[0], pos.cos()), g.op("Mul", parts[1], pos.sin()));
        String second = g.op("Add", g.op("Mul", parts[1], pos.cos()), g.op("Mul", parts[0], pos.sin()));
        return g.op("Concat", attrs(i("axis", -1)), first, second);
    }

    /** SwiGLU feed-forward of normalised {@code x}. */
    public String feedForward(String x, LayerWeights layer) {
        String gate;
        String up;
        if (flavour == GraphFlavour.FAST) {
            String gateUp = linear(x, layer.w1Gate().name().replace("w1", "w13"), layer.w1Gate(), layer.w3Up());
            String[] split = g.node("", "Split", 2, attrs(i("axis", -1), i("num_outputs", 2)), gateUp);
            gate = split[0];
            up = split[1];
        } else {
            gate = linear(x, layer.w1Gate());
            up = linear(x, layer.w3Up());
        }
        String silu = g.op("Mul", gate, g.op("Sigmoid", gate));
        return linear(g.op("Mul", silu, up), layer.w2Down());
    }

    /** Token embedding lookup: int64 ids {@code [1, S]} to {@code [1, S, D]}. */
    public String embed(String ids, Matrix embedding) {
        String table = g.floats(embedding.name(), new long[] {embedding.rows(), embedding.cols()}, embedding);
        return g.op("Gather", attrs(i("axis", 0)), table, ids);
    }

    /** The last position of {@code [1, S, D]} as {@code [1, D]}. */
    public String lastPosition(String x) {
        String last = g.op("Slice", x, g.axes(-1), g.axes(Long.MAX_VALUE), g.axes(1));
        return g.op("Squeeze", last, g.axes(1));
    }

    static float[] transpose(Matrix w) {
        int rows = w.rows();
        int cols = w.cols();
        float[] src = w.data();
        float[] t = new float[src.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                t[c * rows + r] = src[r * cols + c];
            }
        }
        return t;
    }

    static Matrix concatVectors(String name, Matrix... parts) {
        int size = 0;
        for (Matrix m : parts) {
            size += m.data().length;
        }
        float[] data = new float[size];
        int offset = 0;
        for (Matrix m : parts) {
            System.arraycopy(m.data(), 0, data, offset, m.data().length);
            offset += m.data().length;
        }
        return Matrix.vector(name, data);
    }

    static Matrix stackRows(String name, Matrix... parts) {
        int cols = parts[0].cols();
        int rows = 0;
        for (Matrix m : parts) {
            if (m.cols() != cols) {
                throw new IllegalArgumentException("cannot stack " + m.name() + ": " + m.cols() + " columns, expected " + cols);
            }
            rows += m.rows();
        }
        float[] data = new float[rows * cols];
        int offset = 0;
        for (Matrix m : parts) {
            System.arraycopy(m.data(), 0, data, offset, m.data().length);
            offset += m.data().length;
        }
        return new Matrix(name, rows, cols, data);
    }
}
