package io.tandem.model.llama;

/**
 * Which pairs of a head's dimensions rotary embedding rotates together.
 * llama2.c checkpoints and GGUF {@code llama} files rotate adjacent pairs (2i, 2i+1);
 * GGUF {@code qwen2} and Hugging Face checkpoints rotate halves (i, i + headDim/2).
 */
public enum RopeLayout {
    ADJACENT_PAIRS,
    HALVES
}
