package io.tandem.model.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tandem.model.chat.ChatMessage.Role;
import io.tandem.model.gguf.GgufFile;
import io.tandem.model.gguf.GgufMetadata;
import io.tandem.model.gguf.GgufWriter;
import io.tandem.model.tokenizer.SharedModels;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChatTemplatesTest {

    @TempDir
    Path dir;

    @Test
    void aModelWithoutATemplateGetsTheBuiltInOne() {
        assertThat(ChatTemplates.forModel(null, "<s>", "</s>")).isSameAs(ChatTemplate.PLAIN);
        assertThat(ChatTemplates.forModel(" \n", null, null)).isSameAs(ChatTemplate.PLAIN);
    }

    @Test
    void theBuiltInTemplateGivesTheEmbeddedStoryModelPlainParagraphs() {
        ChatTemplate builtIn = ChatTemplates.forModel(null, null, null);
        List<ChatMessage> conversation = List.of(
                new ChatMessage(Role.SYSTEM, "Tell a short story."),
                new ChatMessage(Role.USER, "  Once upon a time, "),
                new ChatMessage(Role.ASSISTANT, ""),
                new ChatMessage(Role.USER, "a cat found a hat."));
        assertThat(builtIn.render(conversation))
                .isEqualTo("Tell a short story.\n\nOnce upon a time,\n\na cat found a hat.");
        assertThat(builtIn.render(conversation, false)).isEqualTo(builtIn.render(conversation));
    }

    @Test
    void aTemplateThatDoesNotCompileFailsWhenTheModelLoads() {
        assertThatThrownBy(() -> ChatTemplates.forModel("{% for message in messages %}\n{{ message.content }}", "<s>", "</s>"))
                .isInstanceOfSatisfying(ChatTemplateException.class, e -> {
                    assertThat(e.problem()).isEqualTo(ChatTemplateException.Problem.SYNTAX_ERROR);
                    assertThat(e.line()).isEqualTo(2);
                })
                .hasMessageStartingWith("the model's chat template does not compile (template line 2): ")
                .hasMessageContaining("the 'for' block opened at line 1 is never closed");
        assertThatThrownBy(() -> ChatTemplates.forModel("{{ messages | shuffle }}", null, null))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessageContaining("no filter named 'shuffle'");
    }

    @Test
    void aTemplateThatBreaksWhileRenderingSaysWhereAndWhy() {
        ChatTemplate broken = ChatTemplates.forModel("{% for m in messages %}\n{{ m.content + 1 }}{% endfor %}", null, null);
        assertThatThrownBy(() -> broken.render(List.of(new ChatMessage(Role.USER, "hi"))))
                .isInstanceOfSatisfying(ChatTemplateException.class, e -> {
                    assertThat(e.problem()).isEqualTo(ChatTemplateException.Problem.RENDER_ERROR);
                    assertThat(e.line()).isEqualTo(2);
                    assertThat(e.detail()).isEqualTo("unsupported operand type(s) for +: 'str' and 'int'");
                });
    }

    @Test
    void anEmptyConversationIsRefusedBeforeTheTemplateRuns() {
        ChatTemplate template = ChatTemplates.forModel("{{ messages | length }}", null, null);
        assertThatThrownBy(() -> template.render(List.of())).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void missingSpecialTokensPrintAsNothing() {
        ChatTemplate template = ChatTemplates.forModel("[{{ bos_token }}|{{ eos_token }}|{{ bos_token is defined }}]", null, null);
        assertThat(template.render(List.of(new ChatMessage(Role.USER, "x")))).isEqualTo("[||False]");
    }

    @Test
    void oneCompiledTemplateServesConcurrentRequests() throws Exception {
        ChatTemplate qwen = ChatTemplates.forModel(ModelChatTemplatesTest.template("qwen2.5-instruct"), null, "<|im_end|>");
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                String question = "question " + i;
                results.add(pool.submit(() -> qwen.render(List.of(new ChatMessage(Role.USER, question)))
                        .equals("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant."
                                + "<|im_end|>\n<|im_start|>user\n" + question + "<|im_end|>\n<|im_start|>assistant\n")));
            }
            for (Future<Boolean> result : results) {
                assertThat(result.get()).isTrue();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void theSharedGgufModelsCarryNoChatTemplateSoTheyGetTheBuiltInOne() throws IOException {
        List<String> files = List.of("llama-2-tiny-random/llama-2-tiny-random.gguf",
                "llamacpp-vocab/ggml-vocab-llama-spm.gguf", "llamacpp-vocab/ggml-vocab-gpt-2.gguf");
        for (String relative : files) {
            try (GgufFile gguf = GgufFile.open(SharedModels.require(relative))) {
                String source = gguf.metadata().findString(ChatTemplates.GGUF_METADATA_KEY).orElse(null);
                assertThat(source).as(relative).isNull();
                assertThat(ChatTemplates.forModel(source, "<s>", "</s>")).isSameAs(ChatTemplate.PLAIN);
            }
        }
    }

    @Test
    void aGgufsOwnTemplateAndSpecialTokensRenderTheConversation() throws IOException {
        Path file = dir.resolve("chat.gguf");
        new GgufWriter()
                .putString("general.architecture", "llama")
                .putStrings("tokenizer.ggml.tokens", List.of("<unk>", "<s>", "</s>", "hello"))
                .putUInt32("tokenizer.ggml.bos_token_id", 1)
                .putUInt32("tokenizer.ggml.eos_token_id", 2)
                .putString(ChatTemplates.GGUF_METADATA_KEY, ModelChatTemplatesTest.template("llama-2-chat"))
                .write(file);
        try (GgufFile gguf = GgufFile.open(file)) {
            GgufMetadata metadata = gguf.metadata();
            List<String> tokens = metadata.getStringArray("tokenizer.ggml.tokens");
            ChatTemplate template = ChatTemplates.forModel(
                    metadata.findString(ChatTemplates.GGUF_METADATA_KEY).orElse(null),
                    tokens.get(metadata.getInt("tokenizer.ggml.bos_token_id")),
                    tokens.get(metadata.getInt("tokenizer.ggml.eos_token_id")));
            assertThat(template.render(ModelChatTemplatesTest.CONVERSATION)).isEqualTo(
                    "<s>[INST] <<SYS>>\nYou are a helpful assistant.\n<</SYS>>\n\nHello, who are you? [/INST]"
                            + " I am a language model. </s><s>[INST] What is 2 + 2? [/INST]");
        }
    }
}
