package io.tandem.model.gguf;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Finds the shared test models ({@code ../shared/models} next to the repository, or
 * {@code -Dtandem.shared.models=...}); tests that need them skip when they are absent.
 */
final class GgufTestFiles {

    static final String PROPERTY = "tandem.shared.models";
    static final String TINY_RANDOM = "llama-2-tiny-random/llama-2-tiny-random.gguf";
    static final String VOCAB_LLAMA_SPM = "llamacpp-vocab/ggml-vocab-llama-spm.gguf";
    static final String VOCAB_GPT2 = "llamacpp-vocab/ggml-vocab-gpt-2.gguf";

    private GgufTestFiles() {
    }

    static Optional<Path> root() {
        String override = System.getProperty(PROPERTY);
        if (override != null) {
            Path path = Path.of(override);
            return Files.isDirectory(path) ? Optional.of(path) : Optional.empty();
        }
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve("shared").resolve("models");
            if (Files.isDirectory(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    static Path require(String relative) {
        Optional<Path> root = root();
        assumeTrue(root.isPresent(), "../shared/models not found above " + Path.of("").toAbsolutePath()
                + " (set -D" + PROPERTY + "): skipping a test that needs it");
        Path file = root.get().resolve(relative);
        assumeTrue(Files.isRegularFile(file), file + " is missing: skipping a test that needs it");
        return file;
    }
}
