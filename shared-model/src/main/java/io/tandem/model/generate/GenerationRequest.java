package io.tandem.model.generate;

import io.tandem.model.constrain.OutputConstraint;
import io.tandem.model.sampling.LogitRules;
import io.tandem.model.sampling.Sampler;
import io.tandem.model.sampling.SamplingParams;
import io.tandem.model.sampling.TokenMask;
import java.util.List;

/**
 * One generation: the prompt as token ids (BOS included when the model wants one), how many tokens
 * to generate at most, stop strings, and sampling; optionally logit rules (bias, penalties), an
 * output constraint with the mask that enforces it on this model's vocabulary, and how many top
 * logprobs each token reports.
 */
public record GenerationRequest(int[] promptIds, int maxTokens, List<String> stopStrings, SamplingParams sampling,
                                LogitRules rules, OutputConstraint constraint, TokenMask.Factory mask,
                                int topLogprobs) {

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
        rules = rules == null ? LogitRules.NONE : rules;
        if ((constraint == null) != (mask == null)) {
            throw new IllegalArgumentException("an output constraint goes with the mask that enforces it");
        }
        if (topLogprobs < 0) {
            throw new IllegalArgumentException("top logprobs must be >= 0, was " + topLogprobs);
        }
    }

    public GenerationRequest(int[] promptIds, int maxTokens, List<String> stopStrings, SamplingParams sampling) {
        this(promptIds, maxTokens, stopStrings, sampling, LogitRules.NONE, null, null, 0);
    }

    /** The same request with other sampling parameters (another seed for another choice, say). */
    public GenerationRequest withSampling(SamplingParams other) {
        return new GenerationRequest(promptIds, maxTokens, stopStrings, other, rules, constraint, mask, topLogprobs);
    }

    /** A sampler for one sequence of this request, with its rules, a fresh mask and its top logprobs. */
    public Sampler newSampler(int vocabSize) {
        return new Sampler(sampling, vocabSize, rules, mask == null ? null : mask.newMask(maxTokens), topLogprobs);
    }

    /** Whether only this machine can run it as asked (nothing beyond plain sampling travels to a cloud yet). */
    public boolean shapesLogits() {
        return !rules.isNone() || constraint != null || topLogprobs > 0;
    }
}
