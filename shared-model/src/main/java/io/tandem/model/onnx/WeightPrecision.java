package io.tandem.model.onnx;

import java.util.Locale;

/** How the projection weights of a graph are stored. Embeddings and norms always stay fp32. */
public enum WeightPrecision {
    FP32(32),
    INT8(8),
    INT4(4);

    /** Quantized weights use blocks of this many input features, each block with one fp32 scale. */
    public static final int BLOCK_SIZE = 32;

    private final int bits;

    WeightPrecision(int bits) {
        this.bits = bits;
    }

    public int bits() {
        return bits;
    }

    public boolean quantized() {
        return this != FP32;
    }

    /** The code that stands for zero: quantized values are {@code (code - zeroPoint) * scale}. */
    public int zeroPoint() {
        return 1 << (bits - 1);
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static WeightPrecision parse(String text) {
        for (WeightPrecision p : values()) {
            if (p.label().equalsIgnoreCase(text)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown weight precision '" + text + "': expected fp32, int8 or int4");
    }
}
