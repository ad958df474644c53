package io.tandem.model.sampling;

import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks tokens from logits: greedy, or temperature with optional top-k and top-p (nucleus)
 * filtering. Scratch arrays are allocated once per sampler; one sampler serves one sequence.
 */
public final class Sampler {

    private final SamplingParams params;
    private final SplittableRandom random;
    private final float[] probabilities;
    private final long[] order;
    private final LogitRules rules;
    private final TokenMask mask;
    private final int topLogprobs;
    /** The adjusted logits when rules or a mask apply; null otherwise (the model's logits are read in place). */
    private final float[] adjusted;
    private final int[] counts;
    private int generated;

    public Sampler(SamplingParams params, int vocabSize) {
        this(params, vocabSize, LogitRules.NONE, null, 0);
    }

    /**
     * @param rules       logit bias and penalties, applied before the mask
     * @param mask        the tokens allowed at each step (constrained decoding), or null
     * @param topLogprobs how many of the most likely tokens each choice reports (0: none)
     */
    public Sampler(SamplingParams params, int vocabSize, LogitRules rules, TokenMask mask, int topLogprobs) {
        this.params = params;
        this.random = new SplittableRandom(params.seed().orElseGet(() -> new SplittableRandom().nextLong()));
        this.probabilities = new float[vocabSize];
        this.order = new long[vocabSize];
        this.rules = rules;
        this.mask = mask;
        this.topLogprobs = Math.min(topLogprobs, vocabSize);
        boolean adjusts = !rules.isNone() || mask != null;
        this.adjusted = adjusts ? new float[vocabSize] : null;
        this.counts = rules.penalises() ? new int[vocabSize] : null;
    }

    public SamplingParams params() {
        return params;
    }

    /** Chooses the next token from {@code logits} (read from its position, not consumed). */
    public TokenChoice sample(FloatBuffer logits) {
        int n = probabilities.length;
        if (logits.remaining() < n) {
            throw new IllegalArgumentException("expected " + n + " logits, got " + logits.remaining());
        }
        if (adjusted != null) {
            logits.get(logits.position(), adjusted, 0, n);
            rules.apply(adjusted, counts);
            if (mask != null) {
                mask.allow(adjusted, generated);
            }
            logits = FloatBuffer.wrap(adjusted);
        }
        TokenChoice choice = choose(logits);
        generated++;
        if (counts != null) {
            counts[choice.token()]++;
        }
        if (mask != null) {
            mask.accept(choice.token());
        }
        return choice;
    }

    /**
     * A token this sequence already has, chosen elsewhere (an answer that began on another machine):
     * it counts for the penalties and moves the mask on, as if this sampler had chosen it.
     */
    public void replay(int token) {
        generated++;
        if (counts != null) {
            counts[token]++;
        }
        if (mask != null) {
            mask.accept(token);
        }
    }

    private TokenChoice choose(FloatBuffer logits) {
        int n = probabilities.length;
        int base = logits.position();
        int best = 0;
        int second = -1;
        float max = logits.get(base);
        for (int i = 1; i < n; i++) {
            float v = logits.get(base + i);
            if (v > max) {
                second = best;
                best = i;
                max = v;
            } else if (second < 0 || v > logits.get(base + second)) {
                second = i;
            }
        }
        // Untempered log-softmax statistics, the routing policy's confidence signals, in one exp pass:
        // with e_i = exp(l_i - max) and Z = sum e_i, entropy = log Z - sum e_i (l_i - max) / Z.
        double sum = 0;
        double weighted = 0;
        for (int i = 0; i < n; i++) {
            float shifted = logits.get(base + i) - max;
            double e = Math.exp(shifted);
            sum += e;
            weighted += e * shifted;
        }
        double logSum = Math.log(sum);
        double entropy = logSum - weighted / sum;
        int token = params.isGreedy() ? best : draw(logits, base, max);
        float logprob = (float) (logits.get(base + token) - max - logSum);
        float margin = second < 0 ? Float.POSITIVE_INFINITY : max - logits.get(base + second);
        if (topLogprobs == 0) {
            return new TokenChoice(token, logprob, (float) entropy, margin);
        }
        int[] topIds = new int[topLogprobs];
        float[] top = new float[topLogprobs];
        topTokens(logits, base, probabilities.length, topIds);
        for (int i = 0; i < topLogprobs; i++) {
            top[i] = (float) (logits.get(base + topIds[i]) - max - logSum);
        }
        return new TokenChoice(token, logprob, (float) entropy, margin, topIds, top);
    }

    /** The ids of the largest logits, largest first (ties to the lower id), by insertion into a short sorted list. */
    private static void topTokens(FloatBuffer logits, int base, int n, int[] out) {
        int k = out.length;
        int filled = 0;
        for (int i = 0; i < n; i++) {
            float v = logits.get(base + i);
            if (filled == k && !(v > logits.get(base + out[k - 1]))) {
                continue;
            }
            int at = Math.min(filled, k - 1);
            while (at > 0 && v > logits.get(base + out[at - 1])) {
                out[at] = out[at - 1];
                at--;
            }
            out[at] = i;
            filled = Math.min(filled + 1, k);
        }
    }

    private int draw(FloatBuffer logits, int base, float max) {
        int count = candidates(logits, base, max);
        double kept = 0;
        for (int c = 0; c < count; c++) {
            kept += probabilities[candidate(c)];
        }
        double r = random.nextDouble() * kept;
        double cumulative = 0;
        for (int c = 0; c < count; c++) {
            int i = candidate(c);
            cumulative += probabilities[i];
            if (r < cumulative) {
                return i;
            }
        }
        return candidate(count - 1);
    }

    /**
     * Fills {@code probabilities} with the tempered, unnormalised weights and returns how many
     * candidates the filters keep; {@link #candidate(int)} names them (all tokens in id order
     * when no filter is on, else the most likely first).
     */
    private int candidates(FloatBuffer logits, int base, float max) {
        int n = probabilities.length;
        double sum = 0;
        for (int i = 0; i < n; i++) {
            float p = (float) Math.exp((logits.get(base + i) - max) / params.temperature());
            probabilities[i] = p;
            sum += p;
        }
        filtered = params.topK() > 0 && params.topK() < n || params.topP() < 1f;
        if (!filtered) {
            return n;
        }
        // Sort candidates by probability, descending; positive float bits order like the floats.
        for (int i = 0; i < n; i++) {
            order[i] = ((long) (Integer.MAX_VALUE - Float.floatToIntBits(probabilities[i])) << 32) | i;
        }
        Arrays.sort(order);
        int keep = params.topK() > 0 ? Math.min(params.topK(), n) : n;
        double kept = 0;
        int count = 0;
        while (count < keep) {
            kept += probabilities[(int) order[count]];
            count++;
            if (kept >= params.topP() * sum) {
                break;
            }
        }
        return count;
    }

    private boolean filtered;

    private int candidate(int c) {
        return filtered ? (int) order[c] : c;
    }

    /**
     * The distribution {@link #sample} draws from, into {@code out} (vocabulary long): after
     * temperature, top-k and top-p, normalised; greedy is all mass on the argmax (lowest id on ties).
     * What speculative sampling compares a draft against.
     */
    public void distribution(FloatBuffer logits, float[] out) {
        int n = probabilities.length;
        int base = logits.position();
        Arrays.fill(out, 0, n, 0f);
        int best = argmax(logits, n);
        float max = logits.get(base + best);
        if (params.isGreedy()) {
            out[best] = 1f;
            return;
        }
        int count = candidates(logits, base, max);
        double kept = 0;
        for (int c = 0; c < count; c++) {
            kept += probabilities[candidate(c)];
        }
        for (int c = 0; c < count; c++) {
            int i = candidate(c);
            out[i] = (float) (probabilities[i] / kept);
        }
    }

    /** Draws a token from a normalised (or merely non-negative) distribution with this sampler's random source. */
    public int draw(float[] weights) {
        double total = 0;
        for (int i = 0; i < probabilities.length; i++) {
            total += weights[i];
        }
        double r = random.nextDouble() * total;
        double cumulative = 0;
        int last = 0;
        for (int i = 0; i < probabilities.length; i++) {
            if (weights[i] > 0) {
                cumulative += weights[i];
                last = i;
                if (r < cumulative) {
                    return i;
                }
            }
        }
        return last;
    }

    /** The index of the largest of {@code count} values from the buffer's position; the lowest index on ties. */
    public static int argmax(FloatBuffer values, int count) {
        int base = values.position();
        int best = 0;
        float max = values.get(base);
        for (int i = 1; i < count; i++) {
            float v = values.get(base + i);
            if (v > max) {
                max = v;
                best = i;
            }
        }
        return best;
    }

    /** A uniform number in [0, 1) from this sampler's random source. */
    public double uniform() {
        return random.nextDouble();
    }
}
