package io.tandem.model.onnx;

import java.util.Locale;

/**
 * Which operator set a graph uses. PORTABLE sticks to standard ONNX operators so Triton,
 * TensorRT and any execution provider accept it; FAST uses ONNX Runtime's contrib operators
 * (MatMulNBits, GroupQueryAttention with fused rotary, SkipSimplifiedLayerNormalization).
 */
public enum GraphFlavour {
    PORTABLE,
    FAST;

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static GraphFlavour parse(String text) {
        for (GraphFlavour f : values()) {
            if (f.label().equalsIgnoreCase(text)) {
                return f;
            }
        }
        throw new IllegalArgumentException("unknown graph flavour '" + text + "': expected portable or fast");
    }
}
