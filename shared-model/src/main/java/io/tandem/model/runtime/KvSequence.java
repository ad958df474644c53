package io.tandem.model.runtime;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.tandem.model.llama.LlamaConfig;
import io.tandem.model.onnx.GraphNames;
import io.tandem.model.onnx.GraphSpec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * The KV cache of one sequence in one partition. Last-position logits land in one pinned native
 * buffer allocated with the sequence. Not thread-safe: one sequence is stepped by one thread at a
 * time.
 *
 * <p>Where the graph takes {@link GraphNames#PAST_LENGTH} ({@link GraphSession#sharedKvCache()}),
 * each layer's key and value live in one preallocated native buffer of some capacity, fed as the
 * past and pinned as the present, so GroupQueryAttention appends the step's keys in place: a step
 * neither copies the cache nor allocates one. The capacity doubles (one copy) when a step would
 * overflow it. Otherwise the present key/value tensors a step returns are fed straight back as
 * the next step's past, still native: the cache never travels through the Java heap.
 */
public final class KvSequence implements AutoCloseable {

    /** Positions the shared cache holds at first; it doubles from there up to the context length. */
    static final int INITIAL_CAPACITY = 256;

    private final GraphSession owner;
    private final GraphSpec spec;
    private final LlamaConfig config;
    private final Map<String, OnnxTensor> inputs = new HashMap<>();
    private final Set<String> requestedOutputs = new HashSet<>();
    private final OnnxTensor[] emptyPast;
    private final LongBuffer idBuffer;
    private final FloatBuffer logitsBuffer;
    private final OnnxTensor logitsTensor;
    private OrtSession.Result previous;
    /** The cache after a {@link #truncate}: tensors this sequence owns, fed as the next step's past. */
    private OnnxTensor[] truncatedPast;
    private int length;
    private boolean closed;

    /** Whether the cache is the shared, preallocated buffer (see the class comment). */
    private final boolean shared;
    /** Shared mode: per layer key then value, {@code [1, kvHeads, capacity, headDim]}, and their buffers. */
    private final OnnxTensor[] cache;
    private final FloatBuffer[] cacheBuffers;
    private int capacity;
    private final LongBuffer pastLengthBuffer;
    private final OnnxTensor pastLengthTensor;
    /** Shared mode: the cache tensors (and the logits) as the step's pinned outputs. */
    private final Map<String, OnnxTensor> pinned = new HashMap<>();
    private final Set<String> sharedRequested = new HashSet<>();

    KvSequence(GraphSession owner) {
        this.owner = owner;
        this.spec = owner.spec();
        this.config = owner.config();
        int layers = spec.endLayer() - spec.firstLayer();
        this.shared = owner.sharedKvCache();
        this.emptyPast = new OnnxTensor[shared ? 0 : layers * 2];
        this.cache = new OnnxTensor[shared ? layers * 2 : 0];
        this.cacheBuffers = new FloatBuffer[cache.length];
        if (!shared) {
            for (int layer = spec.firstLayer(); layer < spec.endLayer(); layer++) {
                requestedOutputs.add(GraphNames.presentKey(layer));
                requestedOutputs.add(GraphNames.presentValue(layer));
            }
        }
        OnnxTensor lengthTensor = null;
        LongBuffer lengthBuffer = null;
        try {
            long[] emptyShape = {1, config.kvHeads(), 0, config.headDim()};
            for (int i = 0; i < emptyPast.length; i++) {
                emptyPast[i] = OnnxTensor.createTensor(owner.env(), directFloats(0), emptyShape);
            }
            if (owner.takesPastLength()) {
                lengthBuffer = ByteBuffer.allocateDirect(Long.BYTES).order(ByteOrder.nativeOrder()).asLongBuffer();
                lengthTensor = OnnxTensor.createTensor(owner.env(), lengthBuffer, new long[] {1});
            }
            this.idBuffer = spec.takesTokenIds()
                    ? ByteBuffer.allocateDirect(config.contextLength() * 8).order(ByteOrder.nativeOrder()).asLongBuffer()
                    : null;
            if (spec.endsWithLogits(config) && !spec.allPositionLogits()) {
                this.logitsBuffer = directFloats(config.vocabSize());
                this.logitsTensor = OnnxTensor.createTensor(owner.env(), logitsBuffer, new long[] {1, config.vocabSize()});
            } else {
                this.logitsBuffer = null;
                this.logitsTensor = null;
                requestedOutputs.add(spec.endsWithLogits(config) ? GraphNames.LOGITS : GraphNames.HIDDEN_OUT);
                sharedRequested.add(spec.endsWithLogits(config) ? GraphNames.LOGITS : GraphNames.HIDDEN_OUT);
            }
        } catch (OrtException e) {
            this.pastLengthTensor = lengthTensor;
            this.pastLengthBuffer = lengthBuffer;
            close();
            throw new IllegalStateException("could not allocate the sequence's tensors: " + e.getMessage(), e);
        }
        this.pastLengthTensor = lengthTensor;
        this.pastLengthBuffer = lengthBuffer;
    }

    /** Tokens processed so far: the position the next step starts at. */
    public int length() {
        return length;
    }

    public GraphSpec spec() {
        return spec;
    }

    /** Runs the partition on the next {@code input.positions()} positions. */
    public StageOutput run(StageInput input) {
        if (closed) {
            throw new IllegalStateException("sequence is closed");
        }
        int n = input.positions();
        if (length + n > config.contextLength()) {
            throw new ContextFullException(length, n, config.contextLength());
        }
        if (shared) {
            return runShared(input, n);
        }
        OnnxTensor main = null;
        OrtSession.Result result = null;
        try {
            main = mainInput(input);
            inputs.clear();
            inputs.put(spec.takesTokenIds() ? GraphNames.INPUT_IDS : GraphNames.HIDDEN_IN, main);
            for (int layer = spec.firstLayer(), i = 0; layer < spec.endLayer(); layer++, i += 2) {
                inputs.put(GraphNames.pastKey(layer), past(GraphNames.presentKey(layer), i));
                inputs.put(GraphNames.pastValue(layer), past(GraphNames.presentValue(layer), i + 1));
            }
            if (pastLengthTensor != null) {
                pastLengthBuffer.put(0, -1); // the past's whole length
                inputs.put(GraphNames.PAST_LENGTH, pastLengthTensor);
            }
            OrtSession session = owner.ortSession();
            result = logitsTensor != null
                    ? session.run(inputs, requestedOutputs, Map.of(GraphNames.LOGITS, logitsTensor))
                    : session.run(inputs);
            StageOutput output = output(result, n);
            if (previous != null) {
                previous.close();
            }
            closeTruncated();
            previous = result;
            result = null;
            length += n;
            return output;
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime step failed at position " + length + ": " + e.getMessage(), e);
        } finally {
            if (main != null) {
                main.close();
            }
            if (result != null) {
                result.close();
            }
        }
    }

    private StageOutput runShared(StageInput input, int n) {
        OnnxTensor main = null;
        try {
            main = mainInput(input);
            ensureCapacity(length + n);
            inputs.clear();
            inputs.put(spec.takesTokenIds() ? GraphNames.INPUT_IDS : GraphNames.HIDDEN_IN, main);
            for (int layer = spec.firstLayer(), i = 0; layer < spec.endLayer(); layer++, i += 2) {
                inputs.put(GraphNames.pastKey(layer), cache[i]);
                inputs.put(GraphNames.pastValue(layer), cache[i + 1]);
            }
            pastLengthBuffer.put(0, length);
            inputs.put(GraphNames.PAST_LENGTH, pastLengthTensor);
            // The pinned outputs are not the result's: closing it leaves the cache and logits alone.
            try (OrtSession.Result result = owner.ortSession().run(inputs, sharedRequested, pinned)) {
                StageOutput output = output(result, n);
                length += n;
                return output;
            }
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime step failed at position " + length + ": " + e.getMessage(), e);
        } finally {
            if (main != null) {
                main.close();
            }
        }
    }

    /** Shared mode: makes the cache hold {@code needed} positions, doubling it and copying what it holds. */
    private void ensureCapacity(int needed) throws OrtException {
        if (needed <= capacity) {
            return;
        }
        int grown = Math.min(config.contextLength(), Math.max(needed, Math.max(2 * capacity, INITIAL_CAPACITY)));
        int heads = config.kvHeads();
        int headDim = config.headDim();
        OnnxTensor[] tensors = new OnnxTensor[cache.length];
        FloatBuffer[] buffers = new FloatBuffer[cache.length];
        try {
            for (int i = 0; i < cache.length; i++) {
                buffers[i] = directFloats(heads * grown * headDim);
                for (int h = 0; h < heads && length > 0; h++) {
                    int from = h * capacity * headDim;
                    buffers[i].put(h * grown * headDim,
                            cacheBuffers[i].duplicate().position(from).limit(from + length * headDim).slice(), 0,
                            length * headDim);
                }
                tensors[i] = OnnxTensor.createTensor(owner.env(), buffers[i], new long[] {1, heads, grown, headDim});
            }
        } catch (OrtException | RuntimeException e) {
            for (OnnxTensor t : tensors) {
                if (t != null) {
                    t.close();
                }
            }
            throw e;
        }
        closeCache();
        System.arraycopy(tensors, 0, cache, 0, cache.length);
        System.arraycopy(buffers, 0, cacheBuffers, 0, cache.length);
        capacity = grown;
        pinned.clear();
        for (int layer = spec.firstLayer(), i = 0; layer < spec.endLayer(); layer++, i += 2) {
            pinned.put(GraphNames.presentKey(layer), cache[i]);
            pinned.put(GraphNames.presentValue(layer), cache[i + 1]);
        }
        if (logitsTensor != null) {
            pinned.put(GraphNames.LOGITS, logitsTensor);
        }
    }

    private void closeCache() {
        for (int i = 0; i < cache.length; i++) {
            if (cache[i] != null) {
                cache[i].close();
                cache[i] = null;
                cacheBuffers[i] = null;
            }
        }
    }

    private OnnxTensor past(String presentName, int emptyIndex) {
        if (truncatedPast != null) {
            return truncatedPast[emptyIndex];
        }
        if (previous == null) {
            return emptyPast[emptyIndex];
        }
        return (OnnxTensor) previous.get(presentName).orElseThrow();
    }

    private OnnxTensor mainInput(StageInput input) throws OrtException {
        return switch (input) {
            case StageInput.Tokens tokens -> {
                if (idBuffer == null) {
                    throw new IllegalArgumentException("layers " + spec.firstLayer() + ".." + spec.endLayer()
                            + " take hidden states, not token ids");
                }
                for (long id : tokens.ids()) {
                    if (id < 0 || id >= config.vocabSize()) {
                        throw new IllegalArgumentException("token id " + id + " is outside the vocabulary of " + config.vocabSize());
                    }
                }
                LongBuffer ids = idBuffer.clear().put(tokens.ids()).flip();
                yield OnnxTensor.createTensor(owner.env(), ids, new long[] {1, tokens.ids().length});
            }
            case StageInput.Hidden hidden -> {
                if (idBuffer != null) {
                    throw new IllegalArgumentException("layers 0.." + spec.endLayer() + " take token ids, not hidden states");
                }
                long expected = (long) hidden.positions() * config.dim() * Float.BYTES;
                if (hidden.bytes().remaining() != expected) {
                    throw new IllegalArgumentException("hidden state of " + hidden.bytes().remaining()
                            + " bytes does not hold " + hidden.positions() + " positions of width " + config.dim());
                }
                FloatBuffer floats = directFloats(hidden.positions() * config.dim());
                floats.put(hidden.bytes().duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer()).flip();
                yield OnnxTensor.createTensor(owner.env(), floats, new long[] {1, hidden.positions(), config.dim()});
            }
        };
    }

    private StageOutput output(OrtSession.Result result, int n) throws OrtException {
        if (logitsTensor != null) {
            return new StageOutput.Logits(logitsBuffer.duplicate().clear(), n, false);
        }
        if (spec.endsWithLogits(config)) {
            OnnxValue logits = result.get(GraphNames.LOGITS).orElseThrow();
            return new StageOutput.Logits(((OnnxTensor) logits).getFloatBuffer(), n, true);
        }
        OnnxTensor hidden = (OnnxTensor) result.get(GraphNames.HIDDEN_OUT).orElseThrow();
        ByteBuffer bytes = hidden.getByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        return new StageOutput.Hidden(bytes, n);
    }

    /**
     * Forgets every position from {@code newLength} on, as speculative decoding does with the
     * positions of rejected draft tokens: the KV cache keeps [0, newLength) and the next step starts
     * there. A shared cache just moves its length back. Otherwise the kept part is copied into
     * tensors of the shorter length (the caches are small next to a step; ONNX Runtime has no view
     * of a tensor's prefix).
     */
    public void truncate(int newLength) {
        if (closed) {
            throw new IllegalStateException("sequence is closed");
        }
        if (newLength < 0 || newLength > length) {
            throw new IllegalArgumentException("cannot truncate a sequence of " + length + " positions to " + newLength);
        }
        if (newLength == length) {
            return;
        }
        if (shared) {
            // The kernel reads only the first past_length positions; the rest is overwritten later.
            length = newLength;
            return;
        }
        int layers = spec.endLayer() - spec.firstLayer();
        OnnxTensor[] kept = new OnnxTensor[layers * 2];
        try {
            for (int layer = spec.firstLayer(), i = 0; layer < spec.endLayer(); layer++, i += 2) {
                kept[i] = prefix(past(GraphNames.presentKey(layer), i), newLength);
                kept[i + 1] = prefix(past(GraphNames.presentValue(layer), i + 1), newLength);
            }
        } catch (OrtException e) {
            for (OnnxTensor t : kept) {
                if (t != null) {
                    t.close();
                }
            }
            throw new IllegalStateException("could not truncate the KV cache: " + e.getMessage(), e);
        }
        closeTruncated();
        truncatedPast = kept;
        if (previous != null) {
            previous.close();
            previous = null;
        }
        length = newLength;
    }

    /** The first {@code keep} positions of a {@code [1, heads, length, headDim]} cache tensor, as a new tensor. */
    private OnnxTensor prefix(OnnxTensor cache, int keep) throws OrtException {
        long[] shape = cache.getInfo().getShape();
        int heads = (int) shape[1];
        int total = (int) shape[2];
        int headDim = (int) shape[3];
        FloatBuffer all = cache.getFloatBuffer();
        FloatBuffer out = directFloats(heads * keep * headDim);
        for (int h = 0; h < heads; h++) {
            FloatBuffer rows = all.duplicate().position(h * total * headDim).limit(h * total * headDim + keep * headDim);
            out.put(rows);
        }
        out.flip();
        return OnnxTensor.createTensor(owner.env(), out, new long[] {1, heads, keep, headDim});
    }

    private void closeTruncated() {
        if (truncatedPast != null) {
            for (OnnxTensor t : truncatedPast) {
                t.close();
            }
            truncatedPast = null;
        }
    }

    private static FloatBuffer directFloats(int count) {
        return ByteBuffer.allocateDirect(count * Float.BYTES).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (previous != null) {
            previous.close();
            previous = null;
        }
        closeTruncated();
        closeCache();
        if (pastLengthTensor != null) {
            pastLengthTensor.close();
        }
        for (OnnxTensor t : emptyPast) {
            if (t != null) {
                t.close();
            }
        }
        if (logitsTensor != null) {
            logitsTensor.close();
        }
    }
}
