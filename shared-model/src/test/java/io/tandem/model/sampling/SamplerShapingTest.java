package io.tandem.model.sampling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.FloatBuffer;
import java.util.Comparator;
import java.util.Map;
import java.util.OptionalLong;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Logit bias, penalties and top logprobs against plain reference computations. */
class SamplerShapingTest {

    static float[] randomLogits(long seed, int n) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] logits = new float[n];
        for (int i = 0; i < n; i++) {
            logits[i] = (float) (random.nextDouble() * 8 - 4);
        }
        return logits;
    }

    /** log-softmax by the textbook, in double. */
    static double[] logSoftmax(float[] logits) {
        double max = IntStream.range(0, logits.length).mapToDouble(i -> logits[i]).max().orElseThrow();
        double sum = IntStream.range(0, logits.length).mapToDouble(i -> Math.exp(logits[i] - max)).sum();
        return IntStream.range(0, logits.length).mapToDouble(i -> logits[i] - max - Math.log(sum)).toArray();
    }

    @Test
    void topLogprobsAreTheLargestOfTheLogSoftmaxInOrder() {
        for (long seed = 0; seed < 20; seed++) {
            float[] logits = randomLogits(seed, 300);
            double[] reference = logSoftmax(logits);
            Integer[] order = IntStream.range(0, 300).boxed().sorted(Comparator.comparingDouble((Integer i) -> -reference[i])
                    .thenComparingInt(i -> i)).toArray(Integer[]::new);
            TokenChoice choice = new Sampler(SamplingParams.greedy(), 300, LogitRules.NONE, null, 7)
                    .sample(FloatBuffer.wrap(logits));
            for (int k = 0; k < 7; k++) {
                assertThat(choice.topIds()[k]).isEqualTo(order[k]);
                assertThat((double) choice.topLogprobs()[k]).isCloseTo(reference[order[k]], within(1e-5));
            }
            assertThat(choice.token()).isEqualTo(order[0]);
        }
    }

    @Test
    void biasAndPenaltiesShiftTheLogitsAsOpenAiDefinesThem() {
        float[] logits = randomLogits(3, 50);
        LogitRules rules = new LogitRules(Map.of(4, 2.5f, 9, -100f), 0.5f, 0.25f);
        Sampler sampler = new Sampler(SamplingParams.greedy(), 50, rules, null, 50);
        int[] history = {7, 7, 12};
        for (int t : history) {
            sampler.replay(t);
        }
        TokenChoice choice = sampler.sample(FloatBuffer.wrap(logits.clone()));
        float[] expected = logits.clone();
        expected[4] += 2.5f;
        expected[9] -= 100f;
        expected[7] -= 2 * 0.25f + 0.5f;
        expected[12] -= 0.25f + 0.5f;
        double[] reference = logSoftmax(expected);
        for (int k = 0; k < 50; k++) {
            assertThat((double) choice.topLogprobs()[k]).isCloseTo(reference[choice.topIds()[k]], within(1e-5));
        }
        int best = IntStream.range(0, 50).reduce((a, b) -> expected[b] > expected[a] ? b : a).orElseThrow();
        assertThat(choice.token()).isEqualTo(best);
    }

    @Test
    void aMaskLeavesOnlyAllowedTokensAndTheSeedStillDecides() {
        TokenMask evenOnly = new TokenMask() {
            @Override
            public void allow(float[] logits, int generated) {
                for (int i = 1; i < logits.length; i += 2) {
                    logits[i] = Float.NEGATIVE_INFINITY;
                }
            }

            @Override
            public void accept(int token) {
            }
        };
        SamplingParams params = new SamplingParams(1f, 1f, 0, OptionalLong.of(5));
        Sampler a = new Sampler(params, 64, LogitRules.NONE, evenOnly, 0);
        Sampler b = new Sampler(params, 64, LogitRules.NONE, evenOnly, 0);
        for (int step = 0; step < 200; step++) {
            float[] logits = randomLogits(step, 64);
            int token = a.sample(FloatBuffer.wrap(logits.clone())).token();
            assertThat(token % 2).isZero();
            assertThat(b.sample(FloatBuffer.wrap(logits.clone())).token()).isEqualTo(token);
        }
    }
}
