package io.tandem.model.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.model.llama.LlamaConfig;
import io.tandem.model.llama.LlamaWeights;
import io.tandem.model.llama.RandomWeights;
import io.tandem.model.llama.RopeLayout;
import io.tandem.model.onnx.DecoderGraphBuilder;
import io.tandem.model.onnx.GraphFlavour;
import io.tandem.model.onnx.GraphSpec;
import io.tandem.model.onnx.OnnxModel;
import io.tandem.model.onnx.WeightPrecision;
import io.tandem.model.onnx.WeightSource;
import io.tandem.model.reference.ReferenceForward;
import java.nio.FloatBuffer;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The preallocated KV cache that GroupQueryAttention writes in place, against the cache that grows
 * by one copy per step, against an exported graph (no past_length input), and against the plain
 * Java reference; across the capacity doublings and a rollback.
 */
class SharedKvCacheTest {

    /** Head size 16 so the fast graph uses GroupQueryAttention; a context long enough to grow the cache twice. */
    private static final LlamaConfig CONFIG = new LlamaConfig("qwen2", 64, 72, 3, 4, 2, 50, 1024,
            1e-5f, 1_000_000f, RopeLayout.HALVES, true, true);

    private static LlamaWeights weights;
    private static GraphSpec spec;
    private static GraphSession shared;
    private static GraphSession copying;
    private static GraphSession exported;

    @BeforeAll
    static void open() {
        weights = RandomWeights.create(CONFIG, 11);
        spec = GraphSpec.whole(CONFIG, WeightPrecision.FP32, GraphFlavour.FAST);
        OnnxModel graph = DecoderGraphBuilder.build(weights, spec, WeightSource.FP32);
        shared = GraphSession.open(graph, spec, CONFIG, RuntimeOptions.threads(1));
        copying = GraphSession.open(graph, spec, CONFIG, RuntimeOptions.threads(1).withSharedKvCache(false));
        exported = GraphSession.open(DecoderGraphBuilder.buildForExport(weights, spec, WeightSource.FP32), spec, CONFIG,
                RuntimeOptions.threads(1));
    }

    @AfterAll
    static void close() {
        shared.close();
        copying.close();
        exported.close();
    }

    @Test
    void onlyTheSessionGraphWithTheCacheSwitchedOnSharesIt() {
        assertThat(shared.sharedKvCache()).isTrue();
        assertThat(copying.sharedKvCache()).isFalse();
        assertThat(exported.sharedKvCache()).isFalse();
    }

    @Test
    void theSharedCacheGivesTheSameLogitsAsTheGrowingOneAcrossItsDoublings() {
        long[] prompt = ids(200, 1);
        try (KvSequence a = shared.newSequence(); KvSequence b = copying.newSequence(); KvSequence c = exported.newSequence()) {
            float[] la = logits(a.run(new StageInput.Tokens(prompt)));
            assertClose(la, logits(b.run(new StageInput.Tokens(prompt))), 0f);
            assertClose(la, logits(c.run(new StageInput.Tokens(prompt))), 0f);
            // 200 positions fill the first 256; the next steps cross 256 and 512 (a 3-token step straddles one)
            SplittableRandom random = new SplittableRandom(2);
            while (a.length() < 600) {
                long[] step = a.length() > 500 && a.length() < 520 ? ids(3, random.nextLong()) : ids(1, random.nextLong());
                la = logits(a.run(new StageInput.Tokens(step)));
                assertClose(la, logits(b.run(new StageInput.Tokens(step))), 0f);
                assertClose(la, logits(c.run(new StageInput.Tokens(step))), 0f);
            }
            assertThat(a.length()).isEqualTo(b.length()).isEqualTo(600);
        }
    }

    @Test
    void theSharedCacheMatchesTheReferenceForward() {
        ReferenceForward reference = new ReferenceForward(weights);
        long[] tokens = ids(300, 3);
        try (KvSequence seq = shared.newSequence()) {
            float[] expected = null;
            for (int i = 0; i < 260; i++) {
                expected = reference.forward((int) tokens[i]);
            }
            long[] prompt = java.util.Arrays.copyOf(tokens, 260);
            assertClose(logits(seq.run(new StageInput.Tokens(prompt))), expected, 1e-4f);
            for (int i = 260; i < tokens.length; i++) {
                expected = reference.forward((int) tokens[i]);
                assertClose(logits(seq.run(new StageInput.Tokens(new long[] {tokens[i]}))), expected, 1e-4f);
            }
        }
    }

    @Test
    void aRolledBackSharedCacheContinuesExactlyAsOneThatNeverSawTheDroppedTokens() {
        try (KvSequence rolled = shared.newSequence(); KvSequence clean = shared.newSequence()) {
            rolled.run(new StageInput.Tokens(ids(254, 4)));
            rolled.run(new StageInput.Tokens(new long[] {7, 8, 9, 10, 11})); // crosses 256; 4 will be dropped
            rolled.truncate(255);
            float[] afterRollback = logits(rolled.run(new StageInput.Tokens(new long[] {12, 13})));

            long[] kept = java.util.Arrays.copyOf(ids(254, 4), 255);
            kept[254] = 7;
            clean.run(new StageInput.Tokens(kept));
            assertThat(afterRollback).containsExactly(logits(clean.run(new StageInput.Tokens(new long[] {12, 13}))));
        }
    }

    private static long[] ids(int n, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        long[] ids = new long[n];
        for (int i = 0; i < n; i++) {
            ids[i] = random.nextInt(CONFIG.vocabSize());
        }
        return ids;
    }

    private static float[] logits(StageOutput output) {
        FloatBuffer values = ((StageOutput.Logits) output).values();
        float[] out = new float[CONFIG.vocabSize()];
        values.duplicate().get(out);
        return out;
    }

    private static void assertClose(float[] actual, float[] expected, float tolerance) {
        float max = 0;
        for (int i = 0; i < expected.length; i++) {
            max = Math.max(max, Math.abs(actual[i] - expected[i]));
        }
        assertThat(max).as("max abs difference").isLessThanOrEqualTo(tolerance);
    }
}
