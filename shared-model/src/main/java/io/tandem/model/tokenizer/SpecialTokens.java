package io.tandem.model.tokenizer;

/**
 * The special token ids of a GGUF vocabulary ({@code -1} where the vocabulary has none) and whether
 * encoding with special tokens adds BOS and EOS.
 */
public record SpecialTokens(int bos, int eos, int eot, int eom, int unk, int pad, boolean addBos, boolean addEos) {

    public static final int NONE = -1;
}
