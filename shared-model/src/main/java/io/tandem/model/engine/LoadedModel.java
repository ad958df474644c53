package io.tandem.model.engine;

import io.tandem.model.checkpoint.Checkpoint;
import io.tandem.model.checkpoint.Llama2cCheckpointReader;
import io.tandem.model.generate.TokenText;
import io.tandem.model.llama.LlamaWeights;
import io.tandem.model.tokenizer.Llama2cTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/**
 * A model ready to build graphs from: its weights, where they came from, and its tokenizer.
 */
public record LoadedModel(String name, LlamaWeights weights, String sourceFormat, String sourceSha256,
                          Llama2cTokenizer tokenizer) {

    public static final String EMBEDDED_NAME = "stories260K";

    public LoadedModel {
        tokenizer.requireVocabSize(weights.config().vocabSize());
    }

    /** The default model that ships inside Tandem: stories260K with its 512-token vocabulary. */
    public static LoadedModel embedded() {
        Checkpoint checkpoint = Llama2cCheckpointReader.embedded();
        return new LoadedModel(EMBEDDED_NAME, checkpoint.weights(), checkpoint.sourceFormat(), checkpoint.sha256(),
                Llama2cTokenizer.embedded());
    }

    /**
     * A llama2.c checkpoint. Without an explicit tokenizer, {@code tokenizer.bin} beside the model is
     * used, else the embedded 512-token one (which only fits models with that vocabulary).
     */
    public static LoadedModel llama2c(Path model, Path tokenizerFile) throws IOException {
        Checkpoint checkpoint = Llama2cCheckpointReader.read(model);
        Llama2cTokenizer tokenizer;
        if (tokenizerFile != null) {
            tokenizer = Llama2cTokenizer.load(tokenizerFile);
        } else {
            Path beside = model.toAbsolutePath().resolveSibling("tokenizer.bin");
            tokenizer = Files.isRegularFile(beside) ? Llama2cTokenizer.load(beside) : Llama2cTokenizer.embedded();
        }
        String name = model.getFileName().toString().replaceFirst("\\.bin$", "");
        return new LoadedModel(name, checkpoint.weights(), checkpoint.sourceFormat(), checkpoint.sha256(), tokenizer);
    }

    /** Prompt ids as llama2.c builds them: BOS, then the text with its dummy-prefix space. */
    public int[] encodePrompt(String text) {
        return tokenizer.encode(text, true, false);
    }

    public Set<Integer> endTokens() {
        return Llama2cText.endTokens(tokenizer);
    }

    public TokenText tokenText() {
        return Llama2cText.tokenText(tokenizer);
    }
}
