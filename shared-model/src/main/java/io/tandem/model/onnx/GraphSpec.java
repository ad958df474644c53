package io.tandem.model.onnx;

import io.tandem.model.llama.LlamaConfig;

/**
 * What to build: the layer range {@code [firstLayer, endLayer)}, the weight precision, the
 * operator flavour, and whether a final partition returns logits for every position or only the
 * last one.
 */
public record GraphSpec(int firstLayer, int endLayer, WeightPrecision precision, GraphFlavour flavour,
                        boolean allPositionLogits) {

    public GraphSpec {
        if (firstLayer < 0 || endLayer <= firstLayer) {
            throw new IllegalArgumentException("layer range [" + firstLayer + ", " + endLayer + ") is empty or negative");
        }
        if (precision == null || flavour == null) {
            throw new IllegalArgumentException("precision and flavour must be given");
        }
    }

    public static GraphSpec whole(LlamaConfig config, WeightPrecision precision, GraphFlavour flavour) {
        return new GraphSpec(0, config.layers(), precision, flavour, false);
    }

    public GraphSpec withRange(int first, int end) {
        return new GraphSpec(first, end, precision, flavour, allPositionLogits);
    }

    public GraphSpec withAllPositionLogits(boolean all) {
        return new GraphSpec(firstLayer, endLayer, precision, flavour, all);
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
        return endLayer == config.layers();
    }
}
