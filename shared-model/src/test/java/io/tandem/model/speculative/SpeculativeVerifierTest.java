package io.tandem.model.speculative;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tandem.model.sampling.Sampler;
import io.tandem.model.sampling.SamplingParams;
import java.nio.FloatBuffer;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/**
 * The speculative sampling rule against the target distribution it must reproduce: tokens that
 * come out of draft-then-verify, over thousands of seeded runs on a six-token vocabulary, follow
 * the target's own distribution (chi-square on the joint distribution of the first two tokens),
 * while the draft's distribution, which differs on purpose, is told apart by the same test.
 */
class SpeculativeVerifierTest {

    private static final int V = 6;
    /** Target logits after each previous token: a small Markov chain. */
    private static final float[][] TARGET = {
            {1.0f, 0.2f, -0.5f, 0.7f, 0.0f, -1.0f},
            {-0.3f, 1.2f, 0.4f, 0.0f, -0.8f, 0.5f},
            {0.6f, -0.2f, 0.9f, -1.0f, 0.3f, 0.1f},
            {0.0f, 0.0f, 0.0f, 0.8f, 0.8f, -0.4f},
            {0.5f, -0.6f, 0.2f, 0.1f, 1.1f, 0.0f},
            {-0.2f, 0.7f, -0.1f, 0.3f, 0.0f, 0.9f},
    };
    /** The draft: close to the target but not equal (a weaker model). */
    private static final float[][] DRAFT = {
            {0.4f, 0.9f, -0.2f, 0.3f, 0.1f, -0.4f},
            {0.3f, 0.6f, 0.8f, -0.2f, -0.5f, 0.1f},
            {0.1f, 0.3f, 1.4f, -0.6f, -0.2f, 0.5f},
            {0.6f, -0.3f, 0.2f, 0.2f, 1.2f, 0.0f},
            {0.0f, 0.0f, 0.6f, 0.5f, 0.4f, 0.3f},
            {0.5f, 0.2f, -0.4f, 0.0f, 0.3f, 0.2f},
    };
    private static final int RUNS = 20_000;
    private static final int GAMMA = 3;
    /** chi-square critical value, 35 degrees of freedom, alpha = 0.001. */
    private static final double CRITICAL_35 = 66.62;

    @Test
    void sampledSpeculativeOutputFollowsTheTargetDistribution() {
        SamplingParams params = new SamplingParams(1.0f, 1.0f, 0, OptionalLong.empty());
        long[][] counts = firstTwoTokens(params, true);
        double[][] expected = targetJoint(params);
        assertThat(chiSquare(counts, expected)).isLessThan(CRITICAL_35);
    }

    @Test
    void withTopKTheFilteredTargetIsFollowedAndFilteredTokensNeverAppear() {
        SamplingParams params = new SamplingParams(0.8f, 1.0f, 4, OptionalLong.empty());
        long[][] counts = firstTwoTokens(params, true);
        double[][] expected = targetJoint(params);
        for (int a = 0; a < V; a++) {
            for (int b = 0; b < V; b++) {
                if (expected[a][b] == 0) {
                    assertThat(counts[a][b]).as("count of (%d, %d), which top-k removes", a, b).isZero();
                }
            }
        }
        assertThat(chiSquare(counts, expected)).isLessThan(CRITICAL_35);
    }

    @Test
    void theTestCanFailTheDraftsOwnDistributionIsToldApart() {
        SamplingParams params = new SamplingParams(1.0f, 1.0f, 0, OptionalLong.empty());
        long[][] counts = firstTwoTokens(params, false);
        assertThat(chiSquare(counts, targetJoint(params))).isGreaterThan(10 * CRITICAL_35);
    }

    @Test
    void greedyAcceptsWhileTheArgmaxAgreesAndCorrectsAtTheFirstMismatch() {
        SpeculativeVerifier verifier = new SpeculativeVerifier(SamplingParams.greedy(), V);
        // rows after tokens 0, 0 (argmax 0), 0 then 3: argmaxes 0, 0, 3 (rows TARGET[0], TARGET[0], TARGET[3] -> 3 or 4 tie -> 3)
        FloatBuffer logits = rows(TARGET[0], TARGET[0], TARGET[3]);
        assertThat(verifier.verify(logits, new int[] {0, 0}, new float[0]))
                .isEqualTo(new SpeculativeVerifier.Outcome(2, 3, logprob(TARGET[3], 3)));
        assertThat(verifier.verify(rows(TARGET[0], TARGET[0], TARGET[3]), new int[] {0, 5}, new float[0]))
                .isEqualTo(new SpeculativeVerifier.Outcome(1, 0, logprob(TARGET[0], 0)));
        assertThat(verifier.verify(rows(TARGET[1], TARGET[0], TARGET[3]), new int[] {0, 0}, new float[0]).accepted())
                .isZero();
    }

    @Test
    void badShapesAreRefused() {
        SpeculativeVerifier verifier = new SpeculativeVerifier(new SamplingParams(1f, 1f, 0, OptionalLong.of(1)), V);
        assertThatThrownBy(() -> verifier.verify(rows(TARGET[0]), new int[] {1}, new float[V]))
                .hasMessageContaining("need 2 rows of 6 logits");
        assertThatThrownBy(() -> verifier.verify(rows(TARGET[0], TARGET[1]), new int[] {1}, new float[0]))
                .hasMessageContaining("needs the draft's distribution");
    }

    /**
     * Counts of the first two tokens after token 0, from {@link #RUNS} seeded runs: draft GAMMA
     * tokens from the draft model, verify against the target (or, with {@code verify} false, take
     * the draft as it is), repeat until two tokens are out.
     */
    private static long[][] firstTwoTokens(SamplingParams params, boolean verify) {
        long[][] counts = new long[V][V];
        float[] q = new float[GAMMA * V];
        float[] qRow = new float[V];
        for (int run = 0; run < RUNS; run++) {
            SamplingParams seeded = new SamplingParams(params.temperature(), params.topP(), params.topK(),
                    OptionalLong.of(run * 7919L + 1));
            Sampler draftSampler = new Sampler(seeded, V);
            SpeculativeVerifier verifier = new SpeculativeVerifier(
                    new Sampler(new SamplingParams(params.temperature(), params.topP(), params.topK(),
                            OptionalLong.of(~run)), V), V);
            int[] out = new int[2];
            int produced = 0;
            int last = 0;
            while (produced < 2) {
                int[] drafts = new int[GAMMA];
                int previous = last;
                for (int i = 0; i < GAMMA; i++) {
                    draftSampler.distribution(FloatBuffer.wrap(DRAFT[previous]), qRow);
                    System.arraycopy(qRow, 0, q, i * V, V);
                    drafts[i] = draftSampler.draw(qRow);
                    previous = drafts[i];
                }
                if (!verify) {
                    for (int i = 0; i < GAMMA && produced < 2; i++) {
                        out[produced++] = drafts[i];
                    }
                    break;
                }
                float[][] targetRows = new float[GAMMA + 1][];
                targetRows[0] = TARGET[last];
                for (int i = 0; i < GAMMA; i++) {
                    targetRows[i + 1] = TARGET[drafts[i]];
                }
                SpeculativeVerifier.Outcome outcome = verifier.verify(rows(targetRows), drafts, q);
                for (int i = 0; i < outcome.accepted() && produced < 2; i++) {
                    out[produced++] = drafts[i];
                }
                if (produced < 2) {
                    out[produced++] = outcome.next();
                }
                last = outcome.next();
            }
            counts[out[0]][out[1]]++;
        }
        return counts;
    }

    /** P(x1, x2) = p(x1 | 0) p(x2 | x1) under the target's sampling distribution. */
    private static double[][] targetJoint(SamplingParams params) {
        Sampler sampler = new Sampler(params, V);
        float[][] conditional = new float[V][V];
        for (int t = 0; t < V; t++) {
            sampler.distribution(FloatBuffer.wrap(TARGET[t]), conditional[t]);
        }
        double[][] joint = new double[V][V];
        for (int a = 0; a < V; a++) {
            for (int b = 0; b < V; b++) {
                joint[a][b] = conditional[0][a] * (double) conditional[a][b];
            }
        }
        return joint;
    }

    /** Pearson's statistic over the cells the target can produce (cells it cannot are checked apart). */
    private static double chiSquare(long[][] counts, double[][] probabilities) {
        double statistic = 0;
        for (int a = 0; a < V; a++) {
            for (int b = 0; b < V; b++) {
                double expected = probabilities[a][b] * RUNS;
                if (expected > 0) {
                    double d = counts[a][b] - expected;
                    statistic += d * d / expected;
                } else if (counts[a][b] > 0) {
                    return Double.POSITIVE_INFINITY;
                }
            }
        }
        return statistic;
    }

    private static FloatBuffer rows(float[]... rows) {
        FloatBuffer out = FloatBuffer.allocate(rows.length * V);
        for (float[] row : rows) {
            out.put(row);
        }
        return out.flip();
    }

    private static float logprob(float[] row, int token) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : row) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (float v : row) {
            sum += Math.exp(v - max);
        }
        return (float) (row[token] - max - Math.log(sum));
    }
}
