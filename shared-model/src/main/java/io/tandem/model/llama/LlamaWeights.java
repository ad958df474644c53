package io.tandem.model.llama;

import java.util.List;

/**
 * A whole Llama-family model in fp32: its configuration and every weight. {@code classifier} is
 * null when the classifier is tied to the token embedding.
 */
public record LlamaWeights(
        LlamaConfig config,
        Matrix tokenEmbedding,
        List<LayerWeights> layers,
        Matrix finalNorm,
        Matrix classifier) {

    public LlamaWeights {
        layers = List.copyOf(layers);
        if (layers.size() != config.layers()) {
            throw new IllegalArgumentException(
                    "config says " + config.layers() + " layers, weights have " + layers.size());
        }
        if (tokenEmbedding.rows() != config.vocabSize() || tokenEmbedding.cols() != config.dim()) {
            throw new IllegalArgumentException("token embedding shape does not match the config");
        }
        if ((classifier == null) != config.tiedClassifier()) {
            throw new IllegalArgumentException("classifier presence does not match tiedClassifier");
        }
    }

    /** The classifier matrix {@code [vocab, dim]}: the token embedding when tied. */
    public Matrix classifierOrEmbedding() {
        return classifier != null ? classifier : tokenEmbedding;
    }
}
