package io.tandem.model.checkpoint;

import io.tandem.model.llama.LlamaWeights;
import java.util.HexFormat;
import java.util.Objects;

/**
 * A loaded checkpoint: the weights in fp32, plus what the model manifest records about the file they
 * came from.
 *
 * @param weights      every weight, dequantized to fp32 where the file was quantized
 * @param source       the file or resource the weights were read from
 * @param version      llama2.c file version: 0 (legacy), 1 (fp32 with header) or 2 (Q8_0)
 * @param sourceFormat precision in the file: {@code "fp32"} or {@code "q8_0 group N"}
 * @param sha256       SHA-256 of the whole file, lower-case hex
 */
public record Checkpoint(LlamaWeights weights, String source, int version, String sourceFormat, String sha256) {

    public static final String FP32 = "fp32";

    public Checkpoint {
        Objects.requireNonNull(weights, "weights");
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(sourceFormat, "sourceFormat");
        if (version < 0 || version > 2) {
            throw new IllegalArgumentException("llama2.c checkpoint version must be 0, 1 or 2, was " + version);
        }
        if (sha256 == null || sha256.length() != 64 || !sha256.chars().allMatch(HexFormat::isHexDigit)) {
            throw new IllegalArgumentException("sha256 must be 64 hex digits, was " + sha256);
        }
    }

    public static String q80Format(int groupSize) {
        return "q8_0 group " + groupSize;
    }
}
