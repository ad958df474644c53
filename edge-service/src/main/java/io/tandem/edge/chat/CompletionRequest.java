package io.tandem.edge.chat;

import io.tandem.model.chat.ChatMessage;
import java.util.List;

/**
 * A validated chat or text completion request. Exactly one of {@code messages} (chat) and
 * {@code prompt} (text completion) is set. {@code maxTokens} is null when the client set no limit.
 * {@code n} choices, each sampled with its own seed (seed + index); {@code logprobs} with
 * {@code topLogprobs} alternatives per token; logit bias and penalties; an output constraint
 * (response_format); {@code echo} puts the prompt before a text completion.
 */
public record CompletionRequest(
        String model,
        List<ChatMessage> messages,
        String prompt,
        Integer maxTokens,
        Float temperature,
        Float topP,
        Long seed,
        List<String> stop,
        boolean stream,
        boolean includeUsage,
        TandemOptions tandem,
        int n,
        boolean logprobs,
        int topLogprobs,
        io.tandem.model.sampling.LogitRules rules,
        io.tandem.model.constrain.OutputConstraint constraint,
        boolean echo,
        ToolRequest tools) {

    /** The same request offering {@code offered} tools (null: none). */
    public CompletionRequest withTools(ToolRequest offered) {
        return new CompletionRequest(model, messages, prompt, maxTokens, temperature, topP, seed, stop, stream, includeUsage,
                tandem, n, logprobs, topLogprobs, rules, constraint, echo, offered);
    }

    public boolean chat() {
        return messages != null;
    }
}
