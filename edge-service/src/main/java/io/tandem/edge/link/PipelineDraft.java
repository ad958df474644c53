package io.tandem.edge.link;

import io.tandem.model.generate.DecoderPipeline;
import io.tandem.model.sampling.Sampler;
import java.nio.FloatBuffer;

/**
 * A local model that proposes the next tokens for the cloud to verify: the edge's int4 copy of the
 * model, an early exit of its own first layers, or a separate model with the same vocabulary, as
 * a pipeline with its own KV cache. Greedy drafts take the argmax; sampled drafts draw from the
 * draft's own sampling distribution q and report it, which the cloud's speculative rule needs.
 */
final class PipelineDraft implements AutoCloseable {

    private final String kind;
    private final DecoderPipeline pipeline;
    private final Sampler sampler;
    private final int vocabSize;
    private final float[] row;

    /** Takes ownership of {@code pipeline}. */
    PipelineDraft(String kind, DecoderPipeline pipeline, Sampler sampler, int vocabSize) {
        this.kind = kind;
        this.pipeline = pipeline;
        this.sampler = sampler;
        this.vocabSize = vocabSize;
        this.row = new float[vocabSize];
    }

    String kind() {
        return kind;
    }

    boolean sampled() {
        return !sampler.params().isGreedy();
    }

    int vocabSize() {
        return vocabSize;
    }

    /**
     * Catches up on {@code history} (every token settled so far, the last one not yet run by
     * anyone) and drafts {@code gamma} tokens after it. For a sampled draft, row i of {@code q}
     * receives the distribution drafted token i was drawn from.
     */
    int[] propose(long[] history, int gamma, float[] q) {
        int known = pipeline.length();
        if (known >= history.length) {
            throw new IllegalStateException("the draft has run " + known + " tokens of a history of " + history.length);
        }
        long[] feed = java.util.Arrays.copyOfRange(history, known, history.length);
        int[] drafted = new int[gamma];
        long[] one = new long[1];
        FloatBuffer logits = pipeline.forward(feed);
        for (int i = 0; i < gamma; i++) {
            if (sampled()) {
                sampler.distribution(logits, row);
                System.arraycopy(row, 0, q, i * vocabSize, vocabSize);
                drafted[i] = sampler.draw(row);
            } else {
                drafted[i] = Sampler.argmax(logits, vocabSize);
            }
            if (i + 1 < gamma) {
                one[0] = drafted[i];
                logits = pipeline.forward(one);
            }
        }
        return drafted;
    }

    /** Forgets what the draft ran past {@code length} (the tokens the cloud did not accept). */
    void rollback(int length) {
        if (pipeline.length() > length) {
            pipeline.truncate(length);
        }
    }

    @Override
    public void close() {
        pipeline.close();
    }
}
