package io.tandem.model.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tandem.model.engine.EngineOptions;
import io.tandem.model.engine.LoadedModel;
import io.tandem.model.engine.Partitions;
import java.nio.FloatBuffer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Rolling a KV cache back (what a rejected draft needs) against a sequence that never saw the
 * rejected tokens: the same logits afterwards, bit for bit; and multi-position logits against
 * one-token steps.
 */
class KvTruncateTest {

    private static Partitions partitions;

    @BeforeAll
    static void load() {
        partitions = new Partitions(LoadedModel.embedded(), EngineOptions.defaults());
    }

    @AfterAll
    static void close() {
        partitions.close();
    }

    @Test
    void aTruncatedSequenceContinuesExactlyAsOneThatNeverSawTheDroppedTokens() {
        GraphSession whole = partitions.range(0, 5).session();
        try (KvSequence rolled = whole.newSequence(); KvSequence clean = whole.newSequence()) {
            rolled.run(new StageInput.Tokens(new long[] {1, 403, 407}));
            rolled.run(new StageInput.Tokens(new long[] {261, 99, 42, 7})); // 3 of these will be dropped
            rolled.truncate(4);
            assertThat(rolled.length()).isEqualTo(4);
            float[] afterRollback = logits(rolled.run(new StageInput.Tokens(new long[] {365})));

            clean.run(new StageInput.Tokens(new long[] {1, 403, 407, 261}));
            float[] reference = logits(clean.run(new StageInput.Tokens(new long[] {365})));
            assertThat(afterRollback).containsExactly(reference);
            // twice in a row, and to the same length, are fine too
            rolled.truncate(5);
            rolled.truncate(3);
            assertThat(rolled.length()).isEqualTo(3);
            assertThatThrownBy(() -> rolled.truncate(4)).hasMessageContaining("cannot truncate a sequence of 3 positions to 4");
        }
    }

    @Test
    void aSplitHeadRollsBackToo() {
        GraphSession head = partitions.range(0, 2).session();
        try (KvSequence rolled = head.newSequence(); KvSequence clean = head.newSequence()) {
            rolled.run(new StageInput.Tokens(new long[] {1, 403, 407, 261, 5}));
            rolled.truncate(3);
            StageOutput.Hidden a = (StageOutput.Hidden) rolled.run(new StageInput.Tokens(new long[] {9, 10}));
            clean.run(new StageInput.Tokens(new long[] {1, 403, 407}));
            StageOutput.Hidden b = (StageOutput.Hidden) clean.run(new StageInput.Tokens(new long[] {9, 10}));
            assertThat(a.bytes()).isEqualTo(b.bytes());
        }
    }

    @Test
    void allPositionLogitsMatchOneTokenSteps() {
        GraphSession all = partitions.range(0, 5, true).session();
        GraphSession last = partitions.range(0, 5).session();
        try (KvSequence many = all.newSequence(); KvSequence one = last.newSequence()) {
            long[] ids = {1, 403, 407, 261};
            StageOutput.Logits rows = (StageOutput.Logits) many.run(new StageInput.Tokens(ids));
            assertThat(rows.allPositions()).isTrue();
            int vocab = partitions.config().vocabSize();
            for (int i = 0; i < ids.length; i++) {
                float[] step = logits(one.run(new StageInput.Tokens(new long[] {ids[i]})));
                float[] row = new float[vocab];
                rows.values().duplicate().position(rows.values().position() + i * vocab).get(row);
                for (int t = 0; t < vocab; t++) {
                    assertThat(row[t]).isCloseTo(step[t], org.assertj.core.data.Offset.offset(1e-4f));
                }
            }
        }
    }

    private static float[] logits(StageOutput output) {
        FloatBuffer values = ((StageOutput.Logits) output).values();
        float[] out = new float[values.remaining()];
        values.duplicate().get(out);
        return out;
    }
}
