package io.tandem.cloud.batch;

import java.time.Duration;

/**
 * How a scheduler forms batches: at most {@code maxBatch} decode rows per pass, a row waits at most
 * {@code maxWait} for others to join it, and a prompt runs in chunks of at most
 * {@code prefillChunk} positions so that a long prompt never holds everyone else's decode for
 * longer than one chunk.
 */
public record BatchSettings(int maxBatch, Duration maxWait, int prefillChunk) {

    public BatchSettings {
        if (maxBatch < 1) {
            throw new IllegalArgumentException("max-batch must be at least 1, was " + maxBatch);
        }
        if (maxWait == null || maxWait.isNegative()) {
            throw new IllegalArgumentException("max-wait must be zero or positive, was " + maxWait);
        }
        if (prefillChunk < 1) {
            throw new IllegalArgumentException("prefill-chunk must be at least 1 position, was " + prefillChunk);
        }
    }
}
