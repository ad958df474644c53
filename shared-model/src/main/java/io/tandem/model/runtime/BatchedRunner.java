package io.tandem.model.runtime;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.tandem.model.llama.LlamaConfig;
import io.tandem.model.onnx.DecoderOps;
import io.tandem.model.onnx.GraphNames;
import io.tandem.model.onnx.DecoderGraphBuilder;
import io.tandem.model.onnx.GraphSpec;
import io.tandem.model.onnx.OnnxModel;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Runs the steps of many sequences in one ONNX Runtime call over a batched graph
 * ({@link io.tandem.model.onnx.DecoderGraphBuilder#buildBatched}). Each {@link BatchedSequence} owns
 * its KV cache in native memory; a step gathers the rows' caches right-padded into one batch
 * tensor per layer, runs once, and appends each row's new keys and values to its own cache, so
 * rows may join and leave between any two steps (continuous batching) and any subset of the open
 * sequences can form a batch.
 *
 * <p>ONNX Runtime's GroupQueryAttention refuses more than one row when a multi-position input
 * meets a past, so {@link #run} takes several rows only for single-position (decode) steps; a
 * prompt or a verification block runs alone, as long or as short a chunk as the caller chooses.
 * The range must end with the logits of the last position. Not thread-safe: one caller (the
 * scheduler) runs one step at a time.
 */
public final class BatchedRunner implements AutoCloseable {

    /** One row of a step: a sequence and the positions it adds. */
    public record Row(BatchedSequence sequence, StageInput input) {
    }

    private final GraphSession graph;
    private final OrtEnvironment env;
    private final OrtSession session;
    private final GraphSpec spec;
    private final LlamaConfig config;
    private final DecoderOps.AttentionKernel kernel;
    private final int layers;
    private final int rowStride;
    private final Map<String, OnnxTensor> inputs = new HashMap<>();
    private final Map<String, OnnxValue> pinned = new HashMap<>();
    private final Set<String> outputNames = new HashSet<>();
    private FloatBuffer[] pastBuffers = new FloatBuffer[0];
    private FloatBuffer[] presentBuffers = new FloatBuffer[0];
    private FloatBuffer logits = FloatBuffer.allocate(0);
    private LongBuffer ids = LongBuffer.allocate(0);
    private FloatBuffer hidden = FloatBuffer.allocate(0);
    private final LongBuffer lengths;
    private final int maxRows;

    /**
     * Opens a runner on a batched graph of {@code spec}'s layers.
     *
     * @param maxRows the most rows one step may carry
     */
    public static BatchedRunner open(OnnxModel batchedGraph, GraphSpec spec, LlamaConfig config, RuntimeOptions options,
                                     int maxRows) {
        if (!"dynamic".equals(batchedGraph.metadata().get("tandem.batch"))) {
            throw new IllegalArgumentException("the graph is not batched: build it with DecoderGraphBuilder.buildBatched");
        }
        return new BatchedRunner(GraphSession.open(batchedGraph, spec, config, options), maxRows);
    }

    /**
     * A runner on a batched graph written to {@code modelFile} (its external data beside it), as
     * {@link DecoderGraphBuilder#buildBatched} made it.
     */
    public static BatchedRunner open(java.nio.file.Path modelFile, GraphSpec spec, LlamaConfig config,
                                     RuntimeOptions options, int maxRows) {
        GraphSession session = GraphSession.open(modelFile, spec, config, options);
        try {
            return new BatchedRunner(session, maxRows);
        } catch (RuntimeException e) {
            session.close();
            throw e;
        }
    }

    private BatchedRunner(GraphSession graph, int maxRows) {
        GraphSpec spec = graph.spec();
        LlamaConfig config = graph.config();
        if (!spec.endsWithLogits(config) || spec.allPositionLogits()) {
            throw new IllegalArgumentException("a batched range must end with the last position's logits");
        }
        if (maxRows < 1) {
            throw new IllegalArgumentException("a batch needs room for at least one row, not " + maxRows);
        }
        this.graph = graph;
        this.env = graph.env();
        this.session = graph.ortSession();
        this.spec = spec;
        this.config = config;
        this.maxRows = maxRows;
        this.kernel = DecoderOps.attentionKernel(spec.flavour(), config);
        this.layers = spec.endLayer() - spec.firstLayer();
        this.rowStride = config.kvHeads() * config.headDim();
        this.lengths = ByteBuffer.allocateDirect(maxRows * Long.BYTES).order(ByteOrder.nativeOrder()).asLongBuffer();
        outputNames.add(GraphNames.LOGITS);
        for (int layer = spec.firstLayer(); layer < spec.endLayer(); layer++) {
            outputNames.add(GraphNames.presentKey(layer));
            outputNames.add(GraphNames.presentValue(layer));
        }
    }

    public GraphSpec spec() {
        return spec;
    }

    public LlamaConfig config() {
        return config;
    }

    /** Which attention kernel the graph uses: GroupQueryAttention, or the masked standard operators. */
    public DecoderOps.AttentionKernel kernel() {
        return kernel;
    }

    public int maxRows() {
        return maxRows;
    }

    /** A new, empty sequence over this runner's layers. */
    public BatchedSequence newSequence() {
        return new BatchedSequence(this, layers, config);
    }

    /**
     * Runs one step for every row: each row's logits land in its sequence's {@link BatchedSequence#logits()}
     * and its length grows by its positions. Several rows must all be single-position steps of
     * sequences that already have a past; a multi-position or first step runs alone.
     */
    public void run(List<Row> rows) {
        int batch = rows.size();
        if (batch == 0) {
            return;
        }
        if (batch > maxRows) {
            throw new IllegalArgumentException(batch + " rows exceed the batch limit of " + maxRows);
        }
        int positions = rows.getFirst().input().positions();
        Set<BatchedSequence> seen = new HashSet<>();
        int longest = 0;
        for (Row row : rows) {
            BatchedSequence s = row.sequence();
            check(s, row.input());
            if (!seen.add(s)) {
                throw new IllegalArgumentException("a sequence may appear once in a step");
            }
            if (row.input().positions() != positions || (batch > 1 && (positions != 1 || s.length() == 0))) {
                throw new IllegalArgumentException("only single-position steps of started sequences share a batch; "
                        + "prompts and multi-position steps run alone");
            }
            longest = Math.max(longest, s.length());
        }
        boolean gqa = kernel == DecoderOps.AttentionKernel.GROUP_QUERY_ATTENTION;
        // GroupQueryAttention: the past is padded to the longest total, and the present (the same
        // shape) holds each row's new keys at the row's own length. Standard operators: the past is
        // padded to the longest past and the new keys follow it.
        int pastLength = gqa ? longest + positions : longest;
        int presentLength = gqa ? pastLength : longest + positions;
        List<OnnxTensor> created = new ArrayList<>();
        try {
            ensureCapacity(batch, pastLength, presentLength, positions);
            inputs.clear();
            pinned.clear();
            inputs.put(spec.takesTokenIds() ? GraphNames.INPUT_IDS : GraphNames.HIDDEN_IN,
                    track(created, mainInput(rows, positions)));
            lengths.clear();
            for (Row row : rows) {
                lengths.put(row.sequence().length());
            }
            inputs.put(GraphNames.PAST_LENGTHS, track(created, OnnxTensor.createTensor(env, lengths.flip(), new long[] {batch})));
            long[] pastShape = {batch, config.kvHeads(), pastLength, config.headDim()};
            long[] presentShape = {batch, config.kvHeads(), presentLength, config.headDim()};
            int pastCount = batch * rowStride * pastLength;
            int presentCount = batch * rowStride * presentLength;
            for (int i = 0; i < layers * 2; i++) {
                FloatBuffer past = pastBuffers[i];
                for (int r = 0; r < batch; r++) {
                    rows.get(r).sequence().gather(i, past, r, pastLength);
                }
                String layerName = (i % 2 == 0 ? GraphNames.pastKey(spec.firstLayer() + i / 2)
                        : GraphNames.pastValue(spec.firstLayer() + i / 2));
                OnnxTensor pastTensor = track(created, OnnxTensor.createTensor(env,
                        past.duplicate().clear().limit(pastCount).slice(), pastShape));
                inputs.put(layerName, pastTensor);
                String presentName = (i % 2 == 0 ? GraphNames.presentKey(spec.firstLayer() + i / 2)
                        : GraphNames.presentValue(spec.firstLayer() + i / 2));
                // GroupQueryAttention sees past and present in one buffer and writes the new keys in
                // place (its past_present_share_buffer mode): no copy of the batch's cache per pass
                pinned.put(presentName, gqa ? pastTensor : track(created, OnnxTensor.createTensor(env,
                        presentBuffers[i].duplicate().clear().limit(presentCount).slice(), presentShape)));
            }
            int vocab = config.vocabSize();
            pinned.put(GraphNames.LOGITS, track(created, OnnxTensor.createTensor(env,
                    logits.duplicate().clear().limit(batch * vocab).slice(), new long[] {batch, vocab})));
            try (OrtSession.Result ignored = session.run(inputs, pinned)) {
                // outputs were written into the pinned buffers
            }
            for (int r = 0; r < batch; r++) {
                BatchedSequence s = rows.get(r).sequence();
                int newAt = gqa ? s.length() : longest;
                for (int i = 0; i < layers * 2; i++) {
                    s.append(i, gqa ? pastBuffers[i] : presentBuffers[i], r, presentLength, newAt, positions);
                }
                s.acceptLogits(logits, r * vocab, positions);
            }
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime batched step of " + batch + " rows failed: " + e.getMessage(), e);
        } finally {
            created.forEach(OnnxTensor::close);
        }
    }

    /**
     * Throws what {@link #run} would for this row alone: a closed or foreign sequence, ids outside the
     * vocabulary, hidden states of the wrong size or kind, a step past the context. Lets a scheduler
     * refuse a bad step before it joins a batch of good ones.
     */
    public void check(BatchedSequence sequence, StageInput input) {
        if (sequence.runner() != this) {
            throw new IllegalArgumentException("a row's sequence belongs to another runner");
        }
        sequence.requireOpen();
        if (sequence.length() + input.positions() > config.contextLength()) {
            throw new ContextFullException(sequence.length(), input.positions(), config.contextLength());
        }
        switch (input) {
            case StageInput.Tokens tokens -> {
                if (!spec.takesTokenIds()) {
                    throw new IllegalArgumentException("layers " + spec.firstLayer() + ".." + spec.endLayer()
                            + " take hidden states, not token ids");
                }
                for (long id : tokens.ids()) {
                    if (id < 0 || id >= config.vocabSize()) {
                        throw new IllegalArgumentException("token id " + id + " is outside the vocabulary of " + config.vocabSize());
                    }
                }
            }
            case StageInput.Hidden h -> {
                if (spec.takesTokenIds()) {
                    throw new IllegalArgumentException("layers 0.." + spec.endLayer() + " take token ids, not hidden states");
                }
                long expected = (long) h.positions() * config.dim() * Float.BYTES;
                if (h.bytes().remaining() != expected) {
                    throw new IllegalArgumentException("hidden state of " + h.bytes().remaining()
                            + " bytes does not hold " + h.positions() + " positions of width " + config.dim());
                }
            }
        }
    }

    private static OnnxTensor track(List<OnnxTensor> created, OnnxTensor tensor) {
        created.add(tensor);
        return tensor;
    }

    private OnnxTensor mainInput(List<Row> rows, int positions) throws OrtException {
        int batch = rows.size();
        if (spec.takesTokenIds()) {
            ids.clear();
            for (Row row : rows) {
                ids.put(((StageInput.Tokens) row.input()).ids());
            }
            return OnnxTensor.createTensor(env, ids.flip(), new long[] {batch, positions});
        }
        hidden.clear();
        for (Row row : rows) {
            hidden.put(((StageInput.Hidden) row.input()).bytes().duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer());
        }
        return OnnxTensor.createTensor(env, hidden.flip(), new long[] {batch, positions, config.dim()});
    }

    private void ensureCapacity(int batch, int pastLength, int presentLength, int positions) {
        if (pastBuffers.length != layers * 2) {
            pastBuffers = new FloatBuffer[layers * 2];
            presentBuffers = new FloatBuffer[layers * 2];
        }
        int pastNeed = batch * rowStride * pastLength;
        int presentNeed = batch * rowStride * presentLength;
        for (int i = 0; i < layers * 2; i++) {
            pastBuffers[i] = grown(pastBuffers[i], pastNeed);
            if (kernel != DecoderOps.AttentionKernel.GROUP_QUERY_ATTENTION) {
                presentBuffers[i] = grown(presentBuffers[i], presentNeed);
            }
        }
        logits = grown(logits, batch * config.vocabSize());
        if (spec.takesTokenIds()) {
            if (ids.capacity() < batch * positions) {
                ids = ByteBuffer.allocateDirect(Math.max(batch * positions, 64) * Long.BYTES)
                        .order(ByteOrder.nativeOrder()).asLongBuffer();
            }
        } else {
            hidden = grown(hidden, batch * positions * config.dim());
        }
    }

    /** {@code buffer} when it holds {@code need} floats, else a direct buffer of at least 1.5 times that. */
    static FloatBuffer grown(FloatBuffer buffer, int need) {
        if (buffer != null && buffer.isDirect() && buffer.capacity() >= need) {
            return buffer;
        }
        int size = Math.max(need + need / 2, 64);
        return ByteBuffer.allocateDirect(size * Float.BYTES).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    /** The execution providers in use, cpu last. */
    public List<String> activeProviders() {
        return graph.activeProviders();
    }

    @Override
    public void close() {
        graph.close();
    }
}
