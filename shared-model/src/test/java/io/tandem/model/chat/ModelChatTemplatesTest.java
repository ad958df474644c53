package io.tandem.model.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tandem.model.chat.ChatMessage.Role;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The published chat templates of well-known models (test resources chat-templates/*.jinja, copied from
 * each model's tokenizer_config.json) render a conversation to the exact prompt transformers'
 * apply_chat_template produces. The expected strings were worked out by hand from each template and
 * agree with Python Jinja2 3.1 run with transformers' settings (trim_blocks, lstrip_blocks).
 */
class ModelChatTemplatesTest {

    static final List<ChatMessage> CONVERSATION = List.of(
            new ChatMessage(Role.SYSTEM, "You are a helpful assistant."),
            new ChatMessage(Role.USER, "Hello, who are you?"),
            new ChatMessage(Role.ASSISTANT, "I am a language model."),
            new ChatMessage(Role.USER, "What is 2 + 2?"));

    static final List<ChatMessage> WITHOUT_SYSTEM = CONVERSATION.subList(1, CONVERSATION.size());

    static String template(String name) {
        try (InputStream in = ModelChatTemplatesTest.class.getResourceAsStream("/chat-templates/" + name + ".jinja")) {
            if (in == null) {
                throw new IllegalStateException("missing test resource chat-templates/" + name + ".jinja");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static ChatTemplate model(String name, String bos, String eos) {
        return ChatTemplates.forModel(template(name), bos, eos);
    }

    @Test
    void llama2ChatFoldsTheSystemPromptIntoTheFirstInstruction() {
        assertThat(model("llama-2-chat", "<s>", "</s>").render(CONVERSATION)).isEqualTo(
                "<s>[INST] <<SYS>>\nYou are a helpful assistant.\n<</SYS>>\n\nHello, who are you? [/INST]"
                        + " I am a language model. </s>"
                        + "<s>[INST] What is 2 + 2? [/INST]");
    }

    @Test
    void llama2ChatRejectsRolesOutOfOrder() {
        List<ChatMessage> twoUsers = List.of(new ChatMessage(Role.USER, "a"), new ChatMessage(Role.USER, "b"));
        assertThatThrownBy(() -> model("llama-2-chat", "<s>", "</s>").render(twoUsers))
                .isInstanceOfSatisfying(ChatTemplateException.class, e -> {
                    assertThat(e.problem()).isEqualTo(ChatTemplateException.Problem.REJECTED_CONVERSATION);
                    assertThat(e.detail()).isEqualTo("Conversation roles must alternate user/assistant/user/assistant/...");
                });
    }

    @Test
    void llama3HeadersEachTurnAndOpensTheAssistantTurn() {
        assertThat(model("llama-3-instruct", "<|begin_of_text|>", "<|eot_id|>").render(CONVERSATION)).isEqualTo(
                "<|begin_of_text|>"
                        + "<|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant.<|eot_id|>"
                        + "<|start_header_id|>user<|end_header_id|>\n\nHello, who are you?<|eot_id|>"
                        + "<|start_header_id|>assistant<|end_header_id|>\n\nI am a language model.<|eot_id|>"
                        + "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2 + 2?<|eot_id|>"
                        + "<|start_header_id|>assistant<|end_header_id|>\n\n");
    }

    @Test
    void llama3WithoutGenerationPromptEndsAfterTheLastTurn() {
        assertThat(model("llama-3-instruct", "<|begin_of_text|>", "<|eot_id|>").render(WITHOUT_SYSTEM, false))
                .isEqualTo("<|begin_of_text|>"
                        + "<|start_header_id|>user<|end_header_id|>\n\nHello, who are you?<|eot_id|>"
                        + "<|start_header_id|>assistant<|end_header_id|>\n\nI am a language model.<|eot_id|>"
                        + "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2 + 2?<|eot_id|>");
    }

    @Test
    void llama31AddsTheKnowledgeCutoffToTheSystemTurn() {
        String turns = "<|start_header_id|>user<|end_header_id|>\n\nHello, who are you?<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\nI am a language model.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2 + 2?<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n";
        ChatTemplate llama31 = model("llama-3.1-instruct", "<|begin_of_text|>", "<|eot_id|>");
        assertThat(llama31.render(CONVERSATION)).isEqualTo("<|begin_of_text|>"
                + "<|start_header_id|>system<|end_header_id|>\n\n"
                + "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"
                + "You are a helpful assistant.<|eot_id|>" + turns);
        assertThat(llama31.render(WITHOUT_SYSTEM)).isEqualTo("<|begin_of_text|>"
                + "<|start_header_id|>system<|end_header_id|>\n\n"
                + "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"
                + "<|eot_id|>" + turns);
    }

    @Test
    void qwen25UsesChatMlWithItsDefaultSystemMessage() {
        String turns = "<|im_start|>user\nHello, who are you?<|im_end|>\n"
                + "<|im_start|>assistant\nI am a language model.<|im_end|>\n"
                + "<|im_start|>user\nWhat is 2 + 2?<|im_end|>\n"
                + "<|im_start|>assistant\n";
        ChatTemplate qwen = model("qwen2.5-instruct", null, "<|im_end|>");
        assertThat(qwen.render(CONVERSATION))
                .isEqualTo("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n" + turns);
        assertThat(qwen.render(WITHOUT_SYSTEM)).isEqualTo("<|im_start|>system\n"
                + "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n" + turns);
    }

    @Test
    void tinyLlamaUsesZephyrTurnsEndedByEos() {
        assertThat(model("tinyllama-chat", "<s>", "</s>").render(CONVERSATION)).isEqualTo(
                "<|system|>\nYou are a helpful assistant.</s>\n"
                        + "<|user|>\nHello, who are you?</s>\n"
                        + "<|assistant|>\nI am a language model.</s>\n"
                        + "<|user|>\nWhat is 2 + 2?</s>\n"
                        + "<|assistant|>\n");
    }

    @Test
    void smolLm2UsesChatMlWithItsDefaultSystemPrompt() {
        String turns = "<|im_start|>user\nHello, who are you?<|im_end|>\n"
                + "<|im_start|>assistant\nI am a language model.<|im_end|>\n"
                + "<|im_start|>user\nWhat is 2 + 2?<|im_end|>\n"
                + "<|im_start|>assistant\n";
        ChatTemplate smol = model("smollm2-instruct", "<|im_start|>", "<|im_end|>");
        assertThat(smol.render(CONVERSATION))
                .isEqualTo("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n" + turns);
        assertThat(smol.render(WITHOUT_SYSTEM)).isEqualTo("<|im_start|>system\n"
                + "You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n" + turns);
    }

    @Test
    void gemmaCallsTheAssistantModelAndRefusesASystemMessage() {
        ChatTemplate gemma = model("gemma-it", "<bos>", "<eos>");
        assertThat(gemma.render(WITHOUT_SYSTEM)).isEqualTo("<bos>"
                + "<start_of_turn>user\nHello, who are you?<end_of_turn>\n"
                + "<start_of_turn>model\nI am a language model.<end_of_turn>\n"
                + "<start_of_turn>user\nWhat is 2 + 2?<end_of_turn>\n"
                + "<start_of_turn>model\n");
        assertThatThrownBy(() -> gemma.render(CONVERSATION))
                .isInstanceOfSatisfying(ChatTemplateException.class, e -> {
                    assertThat(e.problem()).isEqualTo(ChatTemplateException.Problem.REJECTED_CONVERSATION);
                    assertThat(e.detail()).isEqualTo("System role not supported");
                    assertThat(e.line()).isEqualTo(1);
                })
                .hasMessage("the model's chat template rejected the conversation: System role not supported");
    }

    @Test
    void mistralAlternatesInstructionsAndRejectsOtherOrders() {
        ChatTemplate mistral = model("mistral-instruct-v0.1", "<s>", "</s>");
        assertThat(mistral.render(WITHOUT_SYSTEM)).isEqualTo(
                "<s>[INST] Hello, who are you? [/INST]I am a language model.</s>[INST] What is 2 + 2? [/INST]");
        List<ChatMessage> assistantFirst = List.of(new ChatMessage(Role.ASSISTANT, "Hi"),
                new ChatMessage(Role.USER, "Hello"));
        for (List<ChatMessage> bad : List.of(CONVERSATION, assistantFirst)) {
            assertThatThrownBy(() -> mistral.render(bad))
                    .isInstanceOf(ChatTemplateException.class)
                    .hasMessageContaining("Conversation roles must alternate user/assistant/user/assistant/...");
        }
    }

    @Test
    void qwen3OnlyShowsTheSystemTurnWhenThereIsOne() {
        String turns = "<|im_start|>user\nHello, who are you?<|im_end|>\n"
                + "<|im_start|>assistant\nI am a language model.<|im_end|>\n"
                + "<|im_start|>user\nWhat is 2 + 2?<|im_end|>\n"
                + "<|im_start|>assistant\n";
        ChatTemplate qwen3 = model("qwen3", null, "<|im_end|>");
        assertThat(qwen3.render(CONVERSATION))
                .isEqualTo("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n" + turns);
        assertThat(qwen3.render(WITHOUT_SYSTEM)).isEqualTo(turns);
    }

    @Test
    void qwen3KeepsOnlyTheLatestReasoning() {
        // namespace(), messages[::-1], str.startswith/split/rstrip/lstrip/strip('\n') all at work
        List<ChatMessage> conversation = List.of(
                new ChatMessage(Role.USER, "Hi"),
                new ChatMessage(Role.ASSISTANT, "<think>\nold thoughts\n</think>\n\nHello!"),
                new ChatMessage(Role.USER, "2+2?"),
                new ChatMessage(Role.ASSISTANT, "<think>\nadd them\n</think>\n\n4"));
        assertThat(model("qwen3", null, "<|im_end|>").render(conversation, false)).isEqualTo(
                "<|im_start|>user\nHi<|im_end|>\n"
                        + "<|im_start|>assistant\nHello!<|im_end|>\n"
                        + "<|im_start|>user\n2+2?<|im_end|>\n"
                        + "<|im_start|>assistant\n<think>\nadd them\n</think>\n\n4<|im_end|>\n");
    }
}
