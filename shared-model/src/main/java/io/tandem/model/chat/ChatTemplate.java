package io.tandem.model.chat;

import java.util.List;

/** Renders a conversation into the prompt text a model continues. */
public interface ChatTemplate {

    String render(List<ChatMessage> messages);

    /**
     * The built-in template for models without one, such as the embedded story model: the system
     * message, then every user and assistant message, each on its own paragraph, with no markup the
     * model never saw in training. The model continues the last message's text.
     */
    ChatTemplate PLAIN = messages -> {
        if (messages.isEmpty()) {
            throw new IllegalArgumentException("a conversation needs at least one message");
        }
        StringBuilder prompt = new StringBuilder();
        for (ChatMessage m : messages) {
            String text = m.content().strip();
            if (text.isEmpty()) {
                continue;
            }
            if (!prompt.isEmpty()) {
                prompt.append("\n\n");
            }
            prompt.append(text);
        }
        return prompt.toString();
    };
}
