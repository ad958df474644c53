package io.tandem.edge.chat;

import io.tandem.model.chat.ChatMessage;
import java.util.List;

/**
 * A validated chat or text completion request. Exactly one of {@code messages} (chat) and
 * {@code prompt} (text completion) is set. {@code maxTokens} is null when the client set no limit.
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
        TandemOptions tandem) {

    public boolean chat() {
        return messages != null;
    }
}
