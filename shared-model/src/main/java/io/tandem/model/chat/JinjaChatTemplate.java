package io.tandem.model.chat;

import io.tandem.model.chat.jinja.JinjaException;
import io.tandem.model.chat.jinja.JinjaTemplate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A model's own chat template (the Jinja source a GGUF keeps under {@code tokenizer.chat_template}, or a
 * tokenizer_config.json under {@code chat_template}), rendered the way transformers'
 * {@code apply_chat_template} does: the messages as {@code {role, content}} dicts, {@code bos_token},
 * {@code eos_token}, {@code add_generation_prompt}, and {@code tools} / {@code documents} as None.
 * Compiled once; {@link #render} is thread-safe.
 */
public final class JinjaChatTemplate implements ChatTemplate {

    private final JinjaTemplate template;
    private final String bosToken;
    private final String eosToken;
    /** The template reads a {@code tools} variable: published templates that support tools all do. */
    private final boolean rendersTools;

    /**
     * @param bosToken the text of the model's BOS token, or null when it has none (then undefined, as in
     *     transformers, and prints as nothing)
     * @param eosToken likewise for EOS
     * @throws ChatTemplateException if the source does not compile
     */
    public JinjaChatTemplate(String source, String bosToken, String eosToken) {
        this(source, bosToken, eosToken, Clock.systemDefaultZone());
    }

    /** As above, with the clock {@code strftime_now()} reads (templates that print today's date). */
    public JinjaChatTemplate(String source, String bosToken, String eosToken, Clock clock) {
        try {
            this.template = JinjaTemplate.compile(source, clock);
        } catch (JinjaException e) {
            throw translate(e);
        }
        this.bosToken = bosToken;
        this.eosToken = eosToken;
        this.rendersTools = java.util.regex.Pattern.compile("\\btools\\b").matcher(source).find();
    }

    /** The prompt up to where the assistant's answer begins ({@code add_generation_prompt=true}). */
    @Override
    public String render(List<ChatMessage> messages) {
        return render(messages, true);
    }

    @Override
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return render(messages, addGenerationPrompt, null);
    }

    @Override
    public boolean rendersTools() {
        return rendersTools;
    }

    @Override
    public String render(List<ChatMessage> messages, List<Map<String, Object>> tools) {
        if (!rendersTools) {
            throw new UnsupportedOperationException("this chat template renders no tools");
        }
        return render(messages, true, tools);
    }

    private String render(List<ChatMessage> messages, boolean addGenerationPrompt, List<Map<String, Object>> tools) {
        if (messages.isEmpty()) {
            throw new IllegalArgumentException("a conversation needs at least one message");
        }
        List<Map<String, Object>> dicts = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
            Map<String, Object> dict = new LinkedHashMap<>();
            dict.put("role", m.role().label());
            dict.put("content", m.content());
            dicts.add(dict);
        }
        Map<String, Object> variables = new HashMap<>();
        variables.put("messages", dicts);
        variables.put("add_generation_prompt", addGenerationPrompt);
        variables.put("tools", tools);
        variables.put("documents", null);
        if (bosToken != null) {
            variables.put("bos_token", bosToken);
        }
        if (eosToken != null) {
            variables.put("eos_token", eosToken);
        }
        try {
            return template.render(variables);
        } catch (JinjaException e) {
            throw translate(e);
        }
    }

    private static ChatTemplateException translate(JinjaException e) {
        ChatTemplateException.Problem problem = switch (e.kind()) {
            case SYNTAX -> ChatTemplateException.Problem.SYNTAX_ERROR;
            case RENDER -> ChatTemplateException.Problem.RENDER_ERROR;
            case RAISED -> ChatTemplateException.Problem.REJECTED_CONVERSATION;
        };
        return new ChatTemplateException(problem, e.detail(), e.line(), e);
    }
}
