package io.tandem.model.llama;

import java.util.List;

/**
 * Architecture dimensions of a Llama-family decoder. Everything the graph builder and the
 * reference forward pass need to know about shapes and constants lives here.
 *
 * @param architecture  family name as the source calls it ("llama", "qwen2")
 * @param dim           model (residual) width
 * @param hiddenDim     SwiGLU inner width
 * @param layers        number of decoder layers
 * @param heads         query heads
 * @param kvHeads       key/value heads (grouped-query attention when fewer than heads)
 * @param vocabSize     vocabulary size
 * @param contextLength maximum sequence length the model supports
 * @param normEps       RMSNorm epsilon
 * @param ropeTheta     rotary base frequency
 * @param ropeLayout    which dimensions rotate together
 * @param tiedClassifier whether the classifier reuses the token embedding
 * @param qkvBias       whether Q, K and V projections carry a bias (qwen2)
 * @param ropeFrequencyFactors one divisor per rotation pair of a head ({@code headDim / 2} values) for the
 *                      rotary frequencies, as Llama 3.1+ files carry them ({@code rope_freqs.weight}) for
 *                      their long-context scaling; empty for plain RoPE
 */
public record LlamaConfig(
        String architecture,
        int dim,
        int hiddenDim,
        int layers,
        int heads,
        int kvHeads,
        int vocabSize,
        int contextLength,
        float normEps,
        float ropeTheta,
        RopeLayout ropeLayout,
        boolean tiedClassifier,
        boolean qkvBias,
        List<Float> ropeFrequencyFactors) {

    /** A model with plain RoPE (no frequency factors). */
    public LlamaConfig(String architecture, int dim, int hiddenDim, int layers, int heads, int kvHeads, int vocabSize,
                       int contextLength, float normEps, float ropeTheta, RopeLayout ropeLayout, boolean tiedClassifier,
                       boolean qkvBias) {
        this(architecture, dim, hiddenDim, layers, heads, kvHeads, vocabSize, contextLength, normEps, ropeTheta,
                ropeLayout, tiedClassifier, qkvBias, List.of());
    }

    public LlamaConfig {
        if (architecture == null || architecture.isBlank()) {
            throw new IllegalArgumentException("architecture must be named");
        }
        requirePositive("dim", dim);
        requirePositive("hiddenDim", hiddenDim);
        requirePositive("layers", layers);
        requirePositive("heads", heads);
        requirePositive("kvHeads", kvHeads);
        requirePositive("vocabSize", vocabSize);
        requirePositive("contextLength", contextLength);
        if (dim % heads != 0) {
            throw new IllegalArgumentException("dim " + dim + " is not a multiple of heads " + heads);
        }
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException("heads " + heads + " is not a multiple of kvHeads " + kvHeads);
        }
        if ((dim / heads) % 2 != 0) {
            throw new IllegalArgumentException("head size " + dim / heads + " must be even for rotary embedding");
        }
        if (!(normEps > 0) || !(ropeTheta > 0)) {
            throw new IllegalArgumentException("normEps and ropeTheta must be positive");
        }
        if (ropeLayout == null) {
            throw new IllegalArgumentException("ropeLayout must be given");
        }
        // manifests written before the factors existed read them as null
        ropeFrequencyFactors = ropeFrequencyFactors == null ? List.of() : List.copyOf(ropeFrequencyFactors);
        if (!ropeFrequencyFactors.isEmpty()) {
            if (ropeFrequencyFactors.size() != dim / heads / 2) {
                throw new IllegalArgumentException(ropeFrequencyFactors.size() + " RoPE frequency factors for "
                        + dim / heads / 2 + " rotation pairs per head");
            }
            for (float factor : ropeFrequencyFactors) {
                if (!(factor > 0) || Float.isInfinite(factor)) {
                    throw new IllegalArgumentException("RoPE frequency factor " + factor + " must be positive and finite");
                }
            }
        }
    }

    public int headDim() {
        return dim / heads;
    }

    public int kvDim() {
        return kvHeads * headDim();
    }

    public int queriesPerKvHead() {
        return heads / kvHeads;
    }

    private static void requirePositive(String name, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(name + " must be positive, was " + value);
        }
    }
}
