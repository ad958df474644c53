package io.tandem.model.onnx;

import io.tandem.model.llama.LlamaConfig;

/**
 * What to build: the layer range {@code [firstLayer, endLayer)}, the weight precision, the
 * operator flavour, whether a final partition returns logits for every position or only the last
 * one, what quantized matmuls compute in, and whether a range that stops before the last layer
 * ends with the final norm and classifier anyway ({@code exitHead}: an early exit, which drafts
 * tokens from the edge's own layers).
 */
public record GraphSpec(int firstLayer, int endLayer, WeightPrecision precision, GraphFlavour flavour,
                        boolean allPositionLogits, ActivationPrecision activations, boolean exitHead) {

    public GraphSpec(int firstLayer, int endLayer, WeightPrecision precision, GraphFlavour flavour,
                     boolean allPositionLogits, ActivationPrecision activations) {
        this(firstLayer, endLayer, precision, flavour, allPositionLogits, activations, false);
    }

    /** With the default activations for the weights: int8 for quantized weights, fp32 otherwise. */
    public GraphSpec(int firstLayer, int endLayer, WeightPrecision precision, GraphFlavour flavour,
                     boolean allPositionLogits) {
        this(firstLayer, endLayer, precision, flavour, allPositionLogits,
                precision == null ? null : ActivationPrecision.defaultFor(precision));
    }

    public GraphSpec {
        if (firstLayer < 0 || endLayer <= firstLayer) {
            throw new IllegalArgumentException("layer range [" + firstLayer + ", " + endLayer + ") is empty or negative");
        }
        if (precision == null || flavour == null || activations == null) {
            throw new IllegalArgumentException("precision, flavour and activations must be given");
        }
        if (!precision.quantized()) {
            activations = ActivationPrecision.FP32;
        }
    }

    public static GraphSpec whole(LlamaConfig config, WeightPrecision precision, GraphFlavour flavour) {
        return new GraphSpec(0, config.layers(), precision, flavour, false);
    }

    public GraphSpec withRange(int first, int end) {
        return new GraphSpec(first, end, precision, flavour, allPositionLogits, activations, exitHead);
    }

    public GraphSpec withAllPositionLogits(boolean all) {
        return new GraphSpec(firstLayer, endLayer, precision, flavour, all, activations, exitHead);
    }

    public GraphSpec withActivations(ActivationPrecision precisionOfActivations) {
        return new GraphSpec(firstLayer, endLayer, precision, flavour, allPositionLogits, precisionOfActivations, exitHead);
    }

    /** Layers [first, end) through the final norm and classifier: logits from the first layers alone. */
    public GraphSpec withExitHead() {
        return new GraphSpec(firstLayer, endLayer, precision, flavour, allPositionLogits, activations, true);
    }

    public void requireWithin(LlamaConfig config) {
        if (endLayer > config.layers()) {
            throw new IllegalArgumentException("layer range [" + firstLayer + ", " + endLayer
                    + ") exceeds the model's " + config.layers() + " layers");
        }
    }

    public boolean takesTokenIds() {
        return firstLayer == 0;
    }

    public boolean endsWithLogits(LlamaConfig config) {
        return endLayer == config.layers() || exitHead;
    }
}
