package io.tandem.model.onnx;

import io.tandem.model.llama.LlamaConfig;

/** Rotary frequencies, shared by the graph builder and the reference forward pass. */
public final class RotaryTables {
    private RotaryTables() {
    }

    /** Frequency of rotation pair {@code j}: {@code theta^(-2j/headDim)}, in float as llama2.c computes it. */
    public static float frequency(LlamaConfig config, int pair) {
        return (float) (1.0 / Math.pow(config.ropeTheta(), (2.0 * pair) / config.headDim()));
    }
}
