package io.tandem.model.wire;

/** The frame type byte of the header. Explicit wire codes; 0 is deliberately unused. */
public enum FrameType {
    OPEN(1, 1),
    OPENED(2, 1),
    ACTIVATIONS(3, 1),
    TOKENS(4, 1),
    TOKEN(5, 1),
    CANCEL(6, 1),
    ERROR(7, 1),
    CLOSE(8, 1),
    LOAD(9, 1),
    /** Version 2 from here on: a version 1 frame of these types is UNKNOWN_TYPE. */
    CREDIT(10, 2),
    DRAFT(11, 2),
    VERIFIED(12, 2),
    /** Additive within version 1 (and so in 2); 32 leaves 13..31 to the link's own additions. */
    DECODING(32, 1);

    private final int wireCode;
    private final int sinceVersion;

    FrameType(int wireCode, int sinceVersion) {
        this.wireCode = wireCode;
        this.sinceVersion = sinceVersion;
    }

    public int wireCode() {
        return wireCode;
    }

    /** The first protocol version that has this frame type. */
    public int sinceVersion() {
        return sinceVersion;
    }

    static FrameType fromWire(int code, int version) {
        for (FrameType type : values()) {
            if (type.wireCode == code && type.sinceVersion() <= version) {
                return type;
            }
        }
        throw new WireException(WireError.UNKNOWN_TYPE, "unknown frame type " + code + " in version " + version);
    }
}
