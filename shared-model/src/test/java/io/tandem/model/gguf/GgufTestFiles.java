package io.tandem.model.gguf;

import io.tandem.model.tokenizer.SharedModels;
import java.nio.file.Path;

/** The GGUF files among the shared test models; see {@link SharedModels} for where they are found. */
final class GgufTestFiles {

    static final String TINY_RANDOM = "llama-2-tiny-random/llama-2-tiny-random.gguf";
    static final String VOCAB_LLAMA_SPM = "llamacpp-vocab/ggml-vocab-llama-spm.gguf";
    static final String VOCAB_GPT2 = "llamacpp-vocab/ggml-vocab-gpt-2.gguf";

    private GgufTestFiles() {
    }

    /** The file, or a skipped test when ../shared/models or the file is absent. */
    static Path require(String relative) {
        return SharedModels.require(relative);
    }
}
