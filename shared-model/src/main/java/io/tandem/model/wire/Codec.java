package io.tandem.model.wire;

import java.util.Objects;

/** The activation encoding a sender chose for one frame: a dtype and a compression. */
public record Codec(ActivationDtype dtype, Compression compression) {

    public static final Codec FP32 = new Codec(ActivationDtype.FP32, Compression.NONE);
    public static final Codec FP16 = new Codec(ActivationDtype.FP16, Compression.NONE);
    public static final Codec INT8 = new Codec(ActivationDtype.INT8, Compression.NONE);

    public Codec {
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(compression, "compression");
    }

    public Codec withZstd() {
        return new Codec(dtype, Compression.ZSTD);
    }

    /** A stable lower-case name such as {@code fp16} or {@code int8+zstd}, for metrics tags and logs. */
    public String label() {
        String base = dtype.name().toLowerCase(java.util.Locale.ROOT);
        return compression == Compression.NONE ? base : base + "+" + compression.name().toLowerCase(java.util.Locale.ROOT);
    }
}
