package io.tandem.model.generate;

import io.tandem.model.sampling.TokenChoice;
import java.util.List;

/**
 * The outcome of one generation: the prompt ids, every generated token with its confidence, the
 * text, why it ended, and timings (prefill is the prompt's forward pass up to the first token).
 */
public record GenerationResult(int[] promptIds, List<TokenChoice> tokens, String text, FinishReason finishReason,
                               long prefillNanos, long decodeNanos) {

    public int[] generatedIds() {
        return tokens.stream().mapToInt(TokenChoice::token).toArray();
    }

    /** Prompt ids followed by generated ids. */
    public int[] allIds() {
        int[] all = new int[promptIds.length + tokens.size()];
        System.arraycopy(promptIds, 0, all, 0, promptIds.length);
        for (int i = 0; i < tokens.size(); i++) {
            all[promptIds.length + i] = tokens.get(i).token();
        }
        return all;
    }

    /** Decode speed over the tokens after the first, in tokens per second. */
    public double decodeTokensPerSecond() {
        return tokens.size() <= 1 || decodeNanos == 0 ? 0 : (tokens.size() - 1) * 1e9 / decodeNanos;
    }
}
