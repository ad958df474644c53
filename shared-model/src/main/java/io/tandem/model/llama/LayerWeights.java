package io.tandem.model.llama;

/**
 * Weights of one decoder layer. Projections are {@code [out, in]}; biases are null unless the
 * architecture has them.
 */
public record LayerWeights(
        Matrix attentionNorm,
        Matrix wq,
        Matrix wk,
        Matrix wv,
        Matrix wo,
        Matrix bq,
        Matrix bk,
        Matrix bv,
        Matrix ffnNorm,
        Matrix w1Gate,
        Matrix w2Down,
        Matrix w3Up) {

    public boolean hasQkvBias() {
        return bq != null;
    }
}
