package io.tandem.edge.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The local model: a GGUF file ({@code path}; llama or qwen2 architecture, tokenizer and chat template
 * included) or a llama2.c checkpoint ({@code path}, with {@code tokenizer}), told apart by the file's
 * first bytes; the embedded stories260K when no path is given. Also how its graphs are built and how
 * ONNX Runtime runs them.
 * {@code warmupTokens} are generated once at start-up before the service reports ready.
 * {@code cacheDir}: where built graphs are kept between starts (keyed by the model file's sha256, the
 * builder and the graph's spec; verified before use), so a restart opens them instead of building them;
 * unset, graphs are built at every start.
 * {@code sessionConfig} holds extra ONNX Runtime session configuration entries, e.g.
 * {@code "[session.intra_op.allow_spinning]": "0"} (brackets keep the dots in the key).
 */
@ConfigurationProperties("tandem.model")
public record ModelProperties(Path path, Path tokenizer, String weights, String flavour, int threads,
                              List<String> providers, int warmupTokens, Path cacheDir,
                              Map<String, String> sessionConfig) {

    public ModelProperties {
        weights = weights == null ? "fp32" : weights;
        flavour = flavour == null ? "fast" : flavour;
        providers = providers == null ? List.of() : List.copyOf(providers);
        sessionConfig = sessionConfig == null ? Map.of() : Map.copyOf(sessionConfig);
        if (threads < 0) {
            throw new IllegalArgumentException("tandem.model.threads must be 0 (automatic) or positive, was " + threads);
        }
        if (warmupTokens < 0) {
            throw new IllegalArgumentException("tandem.model.warmup-tokens must not be negative, was " + warmupTokens);
        }
    }
}
