package io.tandem.model.speculative;

import io.tandem.model.sampling.Sampler;
import io.tandem.model.sampling.SamplingParams;
import java.nio.FloatBuffer;

/**
 * Verifies a draft against the target model's logits, by the speculative sampling rule of
 * Leviathan et al. (2023) and Chen et al. (2023): drafted token x_i, drawn from the draft's
 * distribution q_i, is accepted with probability min(1, p_i(x_i) / q_i(x_i)); at the first
 * rejection the next token is drawn from normalise(max(0, p_i - q_i)) and the rest is dropped;
 * after a fully accepted draft the next token is drawn from p after the last drafted token. The
 * tokens that come out follow p exactly. Greedy (temperature 0) is the limit case: accept while
 * the target's argmax equals the draft, and the next token is the target's argmax.
 *
 * <p>p is the target's sampling distribution (temperature, top-k, top-p applied, as
 * {@link Sampler#distribution} gives it). Scratch arrays are allocated once; one verifier per
 * session.
 */
public final class SpeculativeVerifier {

    /** What a verification decided: the first {@code accepted} drafted tokens stand, then {@code next}. */
    public record Outcome(int accepted, int next, float logprob) {
    }

    private final Sampler sampler;
    private final int vocabSize;
    private final float[] p;
    private final float[] residual;

    public SpeculativeVerifier(SamplingParams params, int vocabSize) {
        this(new Sampler(params, vocabSize), vocabSize);
    }

    /** Draws with {@code sampler}'s random source (so that a seeded session stays reproducible). */
    public SpeculativeVerifier(Sampler sampler, int vocabSize) {
        this.sampler = sampler;
        this.vocabSize = vocabSize;
        this.p = new float[vocabSize];
        this.residual = new float[vocabSize];
    }

    /**
     * @param logits {@code drafts.length + 1} rows of target logits, row-major from the buffer's
     *               position: row i after the input position that precedes drafted token i
     * @param drafts the drafted tokens
     * @param q      for sampled verification, the draft's distribution at each drafted token
     *               ({@code drafts.length} rows); ignored (may be empty) when the target is greedy
     */
    public Outcome verify(FloatBuffer logits, int[] drafts, float[] q) {
        int base = logits.position();
        if (logits.remaining() < (long) (drafts.length + 1) * vocabSize) {
            throw new IllegalArgumentException("need " + (drafts.length + 1) + " rows of " + vocabSize + " logits, got "
                    + logits.remaining() + " values");
        }
        boolean greedy = sampler.params().isGreedy();
        if (!greedy && q.length != drafts.length * vocabSize) {
            throw new IllegalArgumentException("sampled verification needs the draft's distribution: " + drafts.length
                    + " rows of " + vocabSize + ", got " + q.length + " values");
        }
        for (int i = 0; i < drafts.length; i++) {
            FloatBuffer row = logits.duplicate().position(base + i * vocabSize);
            sampler.distribution(row, p);
            int x = drafts[i];
            if (x < 0 || x >= vocabSize) {
                throw new IllegalArgumentException("drafted token " + x + " is outside the vocabulary of " + vocabSize);
            }
            if (greedy) {
                if (p[x] == 1f) {
                    continue;
                }
                int next = argmax(p);
                return new Outcome(i, next, logprob(row, next));
            }
            float qx = q[i * vocabSize + x];
            // q(x) = 0 cannot have drawn x; the rule then rejects, as min(1, p/0) has no meaning
            if (qx > 0f && sampler.uniform() < Math.min(1.0, p[x] / (double) qx)) {
                continue;
            }
            double mass = 0;
            for (int t = 0; t < vocabSize; t++) {
                residual[t] = Math.max(0f, p[t] - q[i * vocabSize + t]);
                mass += residual[t];
            }
            // p == q leaves nothing: then p itself is the distribution to draw from (it cannot reject then, bar rounding)
            int next = sampler.draw(mass > 0 ? residual : p);
            return new Outcome(i, next, logprob(row, next));
        }
        FloatBuffer last = logits.duplicate().position(base + drafts.length * vocabSize);
        sampler.distribution(last, p);
        int next = greedy ? argmax(p) : sampler.draw(p);
        return new Outcome(drafts.length, next, logprob(last, next));
    }

    private static int argmax(float[] values) {
        int best = 0;
        for (int i = 1; i < values.length; i++) {
            if (values[i] > values[best]) {
                best = i;
            }
        }
        return best;
    }

    /** The untempered log-probability of {@code token} in the row, as a Token frame reports it. */
    private float logprob(FloatBuffer row, int token) {
        int base = row.position();
        float max = row.get(base);
        for (int i = 1; i < vocabSize; i++) {
            max = Math.max(max, row.get(base + i));
        }
        double sum = 0;
        for (int i = 0; i < vocabSize; i++) {
            sum += Math.exp(row.get(base + i) - max);
        }
        return (float) Math.min(0.0, row.get(base + token) - max - Math.log(sum));
    }
}
