package io.tandem.model.chat;

import java.util.List;

/** Renders a conversation into the prompt text a model continues. */
public interface ChatTemplate {

    /** The prompt for the model to continue with the assistant's answer. */
    String render(List<ChatMessage> messages);

    /**
     * With {@code addGenerationPrompt} false, a model's template leaves out the opening of the assistant's
     * turn (for a transcript rather than a prompt). The built-in {@link #PLAIN} template has no such
     * opening, so it renders the same either way.
     */
    default String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return render(messages);
    }

    /** Whether the template renders tool definitions (a {@code tools} variable); the built-in one does not. */
    default boolean rendersTools() {
        return false;
    }

    /**
     * The prompt with tool definitions (OpenAI's {@code tools} entries as dicts) rendered where the
     * template puts them.
     *
     * @throws UnsupportedOperationException when the template renders no tools
     */
    default String render(List<ChatMessage> messages, List<java.util.Map<String, Object>> tools) {
        throw new UnsupportedOperationException("this chat template renders no tools");
    }

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
