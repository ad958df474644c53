package io.tandem.model.sampling;

import java.util.Map;
import java.util.TreeMap;

/**
 * OpenAI's adjustments of the logits before sampling: {@code logit_bias} added per token id, and the
 * presence and frequency penalties over the tokens this sequence has generated so far
 * ({@code logit -= count * frequency + (count > 0 ? presence : 0)}).
 */
public record LogitRules(Map<Integer, Float> bias, float presencePenalty, float frequencyPenalty) {

    public static final LogitRules NONE = new LogitRules(Map.of(), 0f, 0f);

    public LogitRules {
        bias = java.util.Collections.unmodifiableMap(new TreeMap<>(bias));
        for (var e : bias.entrySet()) {
            if (e.getKey() < 0 || !(Math.abs(e.getValue()) <= 100f)) {
                throw new IllegalArgumentException("logit bias must map token ids >= 0 to values in [-100, 100], was "
                        + e.getKey() + " -> " + e.getValue());
            }
        }
        if (!(Math.abs(presencePenalty) <= 2f) || !(Math.abs(frequencyPenalty) <= 2f)) {
            throw new IllegalArgumentException("penalties must be in [-2, 2], were " + presencePenalty + " and "
                    + frequencyPenalty);
        }
    }

    public boolean isNone() {
        return bias.isEmpty() && presencePenalty == 0f && frequencyPenalty == 0f;
    }

    public boolean penalises() {
        return presencePenalty != 0f || frequencyPenalty != 0f;
    }

    /** Applies bias and penalties to {@code logits} in place; {@code counts[t]} is how often t was generated. */
    public void apply(float[] logits, int[] counts) {
        for (var e : bias.entrySet()) {
            if (e.getKey() < logits.length) {
                logits[e.getKey()] += e.getValue();
            }
        }
        if (penalises()) {
            for (int t = 0; t < logits.length; t++) {
                int c = counts[t];
                if (c > 0) {
                    logits[t] -= c * frequencyPenalty + presencePenalty;
                }
            }
        }
    }
}
