package io.tandem.model.runtime;

import io.tandem.model.llama.LlamaConfig;
import java.nio.FloatBuffer;

/**
 * One sequence of a {@link BatchedRunner}: its KV cache in native memory, laid out per layer as
 * {@code [kvHeads, capacity, headDim]} for keys and values, growing as the sequence does, and the
 * logits of its last step. A step copies the cache into the batch and appends the new positions
 * back. Not thread-safe: the runner's caller owns it while a step runs.
 */
public final class BatchedSequence implements AutoCloseable {

    private static final int INITIAL_CAPACITY = 32;

    private final BatchedRunner runner;
    private final int kvHeads;
    private final int headDim;
    private final FloatBuffer[] caches;
    private final float[] logits;
    private int capacity;
    private int length;
    private boolean closed;

    BatchedSequence(BatchedRunner runner, int layers, LlamaConfig config) {
        this.runner = runner;
        this.kvHeads = config.kvHeads();
        this.headDim = config.headDim();
        this.caches = new FloatBuffer[layers * 2];
        this.logits = new float[config.vocabSize()];
        this.capacity = 0;
    }

    BatchedRunner runner() {
        return runner;
    }

    /** Positions processed so far: where the next step starts. */
    public int length() {
        return length;
    }

    /** The last step's logits (its last position); overwritten by the next step of this sequence. */
    public FloatBuffer logits() {
        return FloatBuffer.wrap(logits).asReadOnlyBuffer();
    }

    void requireOpen() {
        if (closed) {
            throw new IllegalStateException("sequence is closed");
        }
    }

    /** Copies this sequence's cache {@code index} into row {@code row} of a batch padded to {@code padded} positions. */
    void gather(int index, FloatBuffer batch, int row, int padded) {
        if (length == 0) {
            return;
        }
        FloatBuffer cache = caches[index];
        for (int h = 0; h < kvHeads; h++) {
            batch.put(((row * kvHeads + h) * padded) * headDim, cache, h * capacity * headDim, length * headDim);
        }
    }

    /**
     * Appends {@code positions} new positions of cache {@code index} from row {@code row} of a present
     * tensor padded to {@code padded}, where they start at position {@code at}. The length advances in
     * {@link #acceptLogits}, after every cache has its new positions.
     */
    void append(int index, FloatBuffer present, int row, int padded, int at, int positions) {
        ensureCapacity(length + positions);
        FloatBuffer cache = caches[index];
        for (int h = 0; h < kvHeads; h++) {
            cache.put((h * capacity + length) * headDim, present, ((row * kvHeads + h) * padded + at) * headDim,
                    positions * headDim);
        }
    }

    void acceptLogits(FloatBuffer batchLogits, int offset, int positions) {
        batchLogits.get(offset, logits, 0, logits.length);
        length += positions;
    }

    private void ensureCapacity(int needed) {
        if (needed <= capacity) {
            return;
        }
        int grownTo = Math.max(INITIAL_CAPACITY, capacity);
        while (grownTo < needed) {
            grownTo *= 2;
        }
        for (int i = 0; i < caches.length; i++) {
            FloatBuffer fresh = BatchedRunner.grown(null, kvHeads * grownTo * headDim);
            if (caches[i] != null && length > 0) {
                for (int h = 0; h < kvHeads; h++) {
                    fresh.put(h * grownTo * headDim, caches[i], h * capacity * headDim, length * headDim);
                }
            }
            caches[i] = fresh;
        }
        capacity = grownTo;
    }

    /** Frees the cache; the sequence cannot step again. */
    @Override
    public void close() {
        closed = true;
        for (int i = 0; i < caches.length; i++) {
            caches[i] = null;
        }
    }
}
