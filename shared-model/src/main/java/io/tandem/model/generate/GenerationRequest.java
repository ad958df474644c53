package io.tandem.model.generate;

import io.tandem.model.sampling.SamplingParams;
import java.util.List;

/**
 * One generation: the prompt as token ids (BOS included when the model wants one), how many tokens
 * to generate at most, stop strings, and sampling.
 */
public record GenerationRequest(int[] promptIds, int maxTokens, List<String> stopStrings, SamplingParams sampling) {

    public GenerationRequest {
        if (promptIds == null || promptIds.length == 0) {
            throw new IllegalArgumentException("the prompt needs at least one token (BOS)");
        }
        if (maxTokens < 1) {
            throw new IllegalArgumentException("max tokens must be at least 1, was " + maxTokens);
        }
        promptIds = promptIds.clone();
        stopStrings = List.copyOf(stopStrings);
        for (String s : stopStrings) {
            if (s.isEmpty()) {
                throw new IllegalArgumentException("stop strings must not be empty");
            }
        }
    }
}
