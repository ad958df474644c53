package io.tandem.model.wire;

/**
 * How each activation value is stored. The wire code is explicit (never the ordinal) so that
 * reordering constants cannot change the format.
 */
public enum ActivationDtype {
    /** IEEE 754 binary32, bit exact. */
    FP32(1),
    /** IEEE 754 binary16, round to nearest even. */
    FP16(2),
    /** Per row: one fp32 absmax scale, then one signed byte per value, q = round(x / scale * 127). */
    INT8(3);

    private final int wireCode;

    ActivationDtype(int wireCode) {
        this.wireCode = wireCode;
    }

    public int wireCode() {
        return wireCode;
    }

    /** Bytes of an uncompressed payload of this shape; long so that no product can overflow. */
    public long rawBytes(long positions, long width) {
        return switch (this) {
            case FP32 -> positions * width * Float.BYTES;
            case FP16 -> positions * width * 2;
            case INT8 -> positions * (Float.BYTES + width);
        };
    }

    static ActivationDtype fromWire(int code) {
        for (ActivationDtype dtype : values()) {
            if (dtype.wireCode == code) {
                return dtype;
            }
        }
        throw new WireException(WireError.BAD_VALUE, "unknown activation dtype " + code);
    }
}
