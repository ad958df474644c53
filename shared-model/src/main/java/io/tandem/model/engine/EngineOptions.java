package io.tandem.model.engine;

import io.tandem.model.onnx.ActivationPrecision;
import io.tandem.model.onnx.GraphFlavour;
import io.tandem.model.onnx.WeightPrecision;
import io.tandem.model.runtime.RuntimeOptions;

/**
 * How to run a model: weight precision, graph flavour, an optional split point (0 for none:
 * otherwise layers [0, split) and [split, L) run as two partitions), runtime options, and what
 * quantized matmuls compute in (int8 by default for quantized weights: see ActivationPrecision).
 */
public record EngineOptions(WeightPrecision precision, GraphFlavour flavour, int split, RuntimeOptions runtime,
                            ActivationPrecision activations) {

    public EngineOptions(WeightPrecision precision, GraphFlavour flavour, int split, RuntimeOptions runtime) {
        this(precision, flavour, split, runtime, precision == null ? null : ActivationPrecision.defaultFor(precision));
    }

    public EngineOptions {
        if (precision == null || flavour == null || runtime == null || activations == null) {
            throw new IllegalArgumentException("precision, flavour, runtime and activations must be given");
        }
        if (split < 0) {
            throw new IllegalArgumentException("split point " + split + " must be positive, or 0 for none");
        }
    }

    public static EngineOptions defaults() {
        return new EngineOptions(WeightPrecision.FP32, GraphFlavour.FAST, 0, RuntimeOptions.defaults());
    }

    /** Checks the split point against a model with {@code layers} layers. */
    public void requireSplitWithin(int layers) {
        if (split != 0 && (split < 1 || split > layers - 1)) {
            throw new IllegalArgumentException("split point " + split + " is outside 1.." + (layers - 1)
                    + ": the model has " + layers + " layers and each side needs at least one");
        }
    }
}
