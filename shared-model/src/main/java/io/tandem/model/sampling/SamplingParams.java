package io.tandem.model.sampling;

import java.util.OptionalLong;

/**
 * How the next token is chosen. Temperature 0 is greedy (ties go to the lowest id, as llama2.c's
 * argmax does). Top-k 0 and top-p 1 disable those filters. Without a seed, each sampler draws a
 * random one.
 */
public record SamplingParams(float temperature, float topP, int topK, OptionalLong seed) {

    public SamplingParams {
        if (!(temperature >= 0) || Float.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a finite number >= 0, was " + temperature);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("top_p must be in (0, 1], was " + topP);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("top_k must be >= 0, was " + topK);
        }
        seed = seed == null ? OptionalLong.empty() : seed;
    }

    public static SamplingParams greedy() {
        return new SamplingParams(0f, 1f, 0, OptionalLong.empty());
    }

    public boolean isGreedy() {
        return temperature == 0f;
    }
}
