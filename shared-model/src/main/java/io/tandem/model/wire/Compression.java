package io.tandem.model.wire;

/** Whether the activation payload is compressed. Explicit wire codes, as for the dtype. */
public enum Compression {
    NONE(0),
    /** One or more zstd frames whose content is exactly the raw payload. */
    ZSTD(1);

    private final int wireCode;

    Compression(int wireCode) {
        this.wireCode = wireCode;
    }

    public int wireCode() {
        return wireCode;
    }

    static Compression fromWire(int code) {
        for (Compression compression : values()) {
            if (compression.wireCode == code) {
                return compression;
            }
        }
        throw new WireException(WireError.BAD_VALUE, "unknown compression " + code);
    }
}
