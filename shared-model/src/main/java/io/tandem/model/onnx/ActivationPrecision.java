package io.tandem.model.onnx;

import java.util.Locale;

/**
 * What quantized matmuls compute in. FP32 computes exactly the dequantized weights; INT8 also
 * quantizes each activation block to int8 (ONNX Runtime's accuracy level 4), which its CPU kernels
 * run many times faster (measured in docs/BENCHMARKS.md) at a small cost in accuracy. fp32 weights
 * always compute in fp32.
 */
public enum ActivationPrecision {
    FP32(1),
    INT8(4);

    private final int accuracyLevel;

    ActivationPrecision(int accuracyLevel) {
        this.accuracyLevel = accuracyLevel;
    }

    /** ONNX Runtime's MatMulNBits accuracy_level for this precision. */
    public int accuracyLevel() {
        return accuracyLevel;
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** INT8 for quantized weights (the fast default), FP32 otherwise. */
    public static ActivationPrecision defaultFor(WeightPrecision weights) {
        return weights.quantized() ? INT8 : FP32;
    }

    public static ActivationPrecision parse(String text) {
        for (ActivationPrecision p : values()) {
            if (p.label().equalsIgnoreCase(text)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown activation precision '" + text + "': expected fp32 or int8");
    }
}
