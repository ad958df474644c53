package io.tandem.model.generate;

/** The prompt leaves no room in the context for a single generated token. */
public final class PromptTooLongException extends IllegalArgumentException {
    private final int promptTokens;
    private final int contextLength;

    public PromptTooLongException(int promptTokens, int contextLength) {
        super("the prompt is " + promptTokens + " tokens long; the model's context holds " + contextLength
                + ", leaving no room to generate");
        this.promptTokens = promptTokens;
        this.contextLength = contextLength;
    }

    public int promptTokens() {
        return promptTokens;
    }

    public int contextLength() {
        return contextLength;
    }
}
