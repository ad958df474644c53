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
    /** Version 2 from here on: a version 1 frame of these types is UNKNOWN_TYPE. */
    CREDIT(10),
    DRAFT(11),
    VERIFIED(12);

    private final int wireCode;

    FrameType(int wireCode) {
        this.wireCode = wireCode;
    }

    public int wireCode() {
        return wireCode;
    }

    /** The first protocol version that has this frame type. */
    public int sinceVersion() {
        return wireCode >= CREDIT.wireCode ? 2 : 1;
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
