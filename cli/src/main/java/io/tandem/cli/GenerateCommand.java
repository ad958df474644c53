package io.tandem.cli;

import io.tandem.model.chat.ChatMessage;
import io.tandem.model.chat.ChatTemplateException;
import io.tandem.model.engine.Engine;
import io.tandem.model.engine.EngineOptions;
import io.tandem.model.engine.LoadedModel;
import io.tandem.model.engine.ModelTokenizer;
import io.tandem.model.generate.GenerationListener;
import io.tandem.model.generate.GenerationRequest;
import io.tandem.model.generate.GenerationResult;
import io.tandem.model.generate.PromptTooLongException;
import io.tandem.model.sampling.SamplingParams;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code tandem generate}: stream a continuation of a prompt. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate text from a prompt, streaming it as it is produced.")
final class GenerateCommand implements Callable<Integer> {

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--prompt", paramLabel = "TEXT", defaultValue = "",
            description = "Text to continue (default: none, start from BOS).")
    String prompt;

    @Option(names = "--chat", paramLabel = "TEXT",
            description = "A user message to answer instead of a prompt to continue: rendered with the model's chat "
                    + "template (a GGUF file's tokenizer.chat_template; plain text for models without one), and only "
                    + "the answer is printed.")
    String chat;

    @Option(names = "--max-tokens", paramLabel = "N", defaultValue = "256",
            description = "Tokens to generate at most (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "1.0",
            description = "0 is greedy (default: ${DEFAULT-VALUE}).")
    float temperature;

    @Option(names = "--top-p", paramLabel = "P", defaultValue = "0.9",
            description = "Nucleus sampling mass (default: ${DEFAULT-VALUE}).")
    float topP;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "0",
            description = "Sample among the K most likely tokens; 0 for all (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--seed", paramLabel = "S", description = "Random seed for reproducible sampling.")
    Long seed;

    @Option(names = "--stop", paramLabel = "TEXT", description = "Stop before this text (repeatable).")
    List<String> stops = List.of();

    @Option(names = "--split", paramLabel = "K", defaultValue = "0",
            description = "Run layers [0,K) and [K,L) as two sessions, handing the hidden state across as bytes.")
    int split;

    @Option(names = "--ids", description = "Print one line of token ids (BOS and prompt first) instead of text.")
    boolean ids;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (maxTokens < 1) {
            throw new IllegalArgumentException("--max-tokens must be at least 1, was " + maxTokens);
        }
        SamplingParams sampling = ModelOptions.argument("sampling", () -> new SamplingParams(temperature, topP, topK,
                seed == null ? OptionalLong.empty() : OptionalLong.of(seed)));
        if (chat != null && !prompt.isEmpty()) {
            throw new IllegalArgumentException("--chat and --prompt: give one or the other");
        }
        LoadedModel model = modelOptions.load();
        EngineOptions engineOptions = modelOptions.engineOptions(split, model);
        int[] promptIds = chat == null ? model.encodePrompt(prompt) : chatPrompt(model);
        int context = model.weights().config().contextLength();
        if (promptIds.length >= context) {
            throw new IllegalArgumentException((chat == null ? "--prompt: " : "--chat: ")
                    + new PromptTooLongException(promptIds.length, context).getMessage());
        }
        GenerationRequest request = ModelOptions.argument("--stop",
                () -> new GenerationRequest(promptIds, maxTokens, stops, sampling));
        try (Engine engine = Engine.open(model, engineOptions)) {
            GenerationListener listener = ids ? GenerationListener.NONE : GenerationListener.text(text -> {
                out.print(text);
                out.flush();
            });
            if (!ids && chat == null) {
                out.print(prompt);
                out.flush();
            }
            GenerationResult result = engine.generate(request, listener, () -> false);
            if (ids) {
                out.println(Arrays.stream(result.allIds()).mapToObj(Integer::toString).collect(Collectors.joining(" ")));
            } else {
                out.println();
            }
            out.flush();
            err.printf("[%d prompt + %d generated tokens, prefill %.1f ms, decode %.1f tokens/s, %s]%n",
                    promptIds.length, result.tokens().size(), result.prefillNanos() / 1e6,
                    result.decodeTokensPerSecond(), result.finishReason().name().toLowerCase(java.util.Locale.ROOT));
            err.flush();
        }
        return 0;
    }

    /** The user message rendered by the model's chat template, its markup encoded as the model's special tokens. */
    private int[] chatPrompt(LoadedModel model) {
        ModelTokenizer tokenizer = model.tokenizer();
        String rendered;
        try {
            rendered = tokenizer.chatTemplate().render(List.of(new ChatMessage(ChatMessage.Role.USER, chat)));
        } catch (ChatTemplateException e) {
            throw new IllegalStateException(tokenizer.source() + ": " + e.getMessage(), e);
        }
        return tokenizer.encodeChatPrompt(rendered);
    }
}
