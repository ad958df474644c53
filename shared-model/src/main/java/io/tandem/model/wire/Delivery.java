package io.tandem.model.wire;

/**
 * How a session's tokens come back (protocol version 2; a version 1 Open is always LOCKSTEP).
 * Explicit wire codes, as for the other enumerations.
 */
public enum Delivery {
    /** One input frame, one Token back: the edge drives every step. */
    LOCKSTEP(0),
    /**
     * The cloud decodes on its own after the prompt and sends a Token per step while it holds
     * credits (the Open's initial window plus every Credit since), until max tokens, an end token,
     * the end of the context or a Cancel.
     */
    STREAM(1),
    /**
     * After the prompt's Token, the edge sends Draft frames (with Activations of the same positions
     * in SPLIT mode); the cloud verifies each draft and answers Verified.
     */
    VERIFY(2);

    private final int wireCode;

    Delivery(int wireCode) {
        this.wireCode = wireCode;
    }

    public int wireCode() {
        return wireCode;
    }

    static Delivery fromWire(int code) {
        for (Delivery delivery : values()) {
            if (delivery.wireCode == code) {
                return delivery;
            }
        }
        throw new WireException(WireError.BAD_VALUE, "unknown delivery " + code);
    }
}
