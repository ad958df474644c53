package io.tandem.model.chat;

/** Picks the chat template for a model. */
public final class ChatTemplates {

    /** Where a GGUF file keeps its Jinja chat template. */
    public static final String GGUF_METADATA_KEY = "tokenizer.chat_template";

    private ChatTemplates() {
    }

    /**
     * The model's own template when it has one, compiled now; the built-in {@link ChatTemplate#PLAIN}
     * when it has none (a null or blank source), as for the embedded story model, which was never
     * trained on chat markup.
     *
     * @param jinjaSourceOrNull the model's Jinja chat template, or null
     * @param bosToken the text of the model's BOS token (e.g. {@code <s>}), or null if it has none
     * @param eosToken the text of the model's EOS token (e.g. {@code </s>}), or null if it has none
     * @throws ChatTemplateException if the source does not compile
     */
    public static ChatTemplate forModel(String jinjaSourceOrNull, String bosToken, String eosToken) {
        if (jinjaSourceOrNull == null || jinjaSourceOrNull.isBlank()) {
            return ChatTemplate.PLAIN;
        }
        return new JinjaChatTemplate(jinjaSourceOrNull, bosToken, eosToken);
    }
}
