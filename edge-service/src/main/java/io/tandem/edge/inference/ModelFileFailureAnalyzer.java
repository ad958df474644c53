package io.tandem.edge.inference;

import io.tandem.model.ModelFileException;
import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/**
 * Turns a model file that cannot be used (a damaged or truncated GGUF, an unsupported architecture, a
 * missing tensor, a bad checkpoint or tokenizer) into Spring Boot's "APPLICATION FAILED TO START" report:
 * the file and what is wrong with it, and what to check, instead of a stack trace.
 */
class ModelFileFailureAnalyzer extends AbstractFailureAnalyzer<ModelFileException> {

    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, ModelFileException cause) {
        return new FailureAnalysis("The local model cannot be loaded: " + cause.getMessage(),
                "Point tandem.model.path at a GGUF file of a supported architecture (llama, qwen2) or at a llama2.c "
                        + "checkpoint (with tandem.model.tokenizer for its tokenizer.bin), or leave it unset for the "
                        + "embedded model.", cause);
    }
}
