package io.tandem.model.onnx;

import io.tandem.model.llama.LlamaConfig;

/** Rotary frequencies, shared by the graph builder and the reference forward pass. */
public final class RotaryTables {
    private RotaryTables() {
    }

    /**
     * Frequency of rotation pair {@code j}: {@code theta^(-2j/headDim)}, in float as llama2.c computes it,
     * divided by the pair's frequency factor where the model has them (ggml's rope with freq_factors).
     */
    public static float frequency(LlamaConfig config, int pair) {
        float frequency = (float) (1.0 / Math.pow(config.ropeTheta(), (2.0 * pair) / config.headDim()));
        return config.ropeFrequencyFactors().isEmpty() ? frequency : frequency / config.ropeFrequencyFactors().get(pair);
    }
}
