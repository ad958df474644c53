package io.tandem.edge.inference;

import io.tandem.model.chat.ChatMessage;
import io.tandem.model.chat.ChatTemplate;
import io.tandem.model.engine.ModelTokenizer;
import io.tandem.model.llama.LlamaConfig;
import io.tandem.model.manifest.ModelManifest;
import java.util.List;

/**
 * What the API needs to know about the local model: its id, tokenizer, chat template, shape and manifests.
 *
 * @param chatTemplate the model's own template (a GGUF file's {@code tokenizer.chat_template}), or
 *                     {@link ChatTemplate#PLAIN} for models without one, such as the embedded story model
 */
public record ServedModel(String id, ModelTokenizer tokenizer, ChatTemplate chatTemplate, LlamaConfig config,
                          List<ModelManifest> manifests) {

    public ServedModel {
        manifests = List.copyOf(manifests);
    }

    /** Prompt ids from user text as the model was trained on them: BOS (where the model wants one), then the text. */
    public int[] encodePrompt(String text) {
        return tokenizer.encodePrompt(text);
    }

    /** A conversation as the prompt text the model continues, rendered by the model's chat template. */
    public String renderChat(List<ChatMessage> messages) {
        return chatTemplate.render(messages);
    }

    /**
     * Prompt ids of a conversation {@link #renderChat rendered} by the chat template: its markup (such as
     * {@code <|im_start|>}) becomes the model's special tokens, which {@link #encodePrompt} leaves as text.
     */
    public int[] encodeChatPrompt(String rendered) {
        return tokenizer.encodeChatPrompt(rendered);
    }

    public int contextLength() {
        return config.contextLength();
    }
}
