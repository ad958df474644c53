package io.tandem.model.wire;

/** The frame type byte of the header. Explicit wire codes; 0 is deliberately unused. */
public enum FrameType {
    OPEN(1),
    OPENED(2),
    ACTIVATIONS(3),
    TOKENS(4),
    TOKEN(5),
    CANCEL(6),
    ERROR(7),
    CLOSE(8),
    LOAD(9),
    /** Additive within version 1; 32 leaves 10..31 to the link's own additions. */
    DECODING(32);

    private final int wireCode;

    FrameType(int wireCode) {
        this.wireCode = wireCode;
    }

    public int wireCode() {
        return wireCode;
    }

    static FrameType fromWire(int code) {
        for (FrameType type : values()) {
            if (type.wireCode == code) {
                return type;
            }
        }
        throw new WireException(WireError.UNKNOWN_TYPE, "unknown frame type " + code);
    }
}
