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
 * The KV cache of one sequence in one partition. The present key/value tensors a step returns
 * are native ONNX Runtime tensors and are fed straight back as the next step's past: the cache
 * never travels through the Java heap. Last-position logits land in one pinned native buffer
 * allocated with the sequence. Not thread-safe: one sequence is stepped by one thread at a time.
 */
public final class KvSequence implements AutoCloseable {

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

    KvSequence(GraphSession owner) {
        this.owner = owner;
        this.spec = owner.spec();
        this.config = owner.config();
        int layers = spec.endLayer() - spec.firstLayer();
        this.emptyPast = new OnnxTensor[layers * 2];
        for (int layer = spec.firstLayer(); layer < spec.endLayer(); layer++) {
            requestedOutputs.add(GraphNames.presentKey(layer));
            requestedOutputs.add(GraphNames.presentValue(layer));
        }
        try {
            long[] emptyShape = {1, config.kvHeads(), 0, config.headDim()};
            for (int i = 0; i < emptyPast.length; i++) {
                emptyPast[i] = OnnxTensor.createTensor(owner.env(), directFloats(0), emptyShape);
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
            }
        } catch (OrtException e) {
            close();
            throw new IllegalStateException("could not allocate the sequence's tensors: " + e.getMessage(), e);
        }
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
     * there. The kept part is copied into tensors of the shorter length (the caches are small next
     * to a step; ONNX Runtime has no view of a tensor's prefix).
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
