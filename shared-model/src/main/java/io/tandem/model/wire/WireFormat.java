package io.tandem.model.wire;

/** Constants of the frame layout (see the golden files' README for the full description). */
public final class WireFormat {

    /** "TNDM" in ASCII, the first four bytes of every frame. */
    public static final byte[] MAGIC = {'T', 'N', 'D', 'M'};
    /** The only version this build reads and writes. */
    public static final int VERSION = 1;
    /** magic 4, version 1, type 1, flags 1, reserved 1, session 8, sequence 8, body length 4. */
    public static final int HEADER_BYTES = 28;
    /** Offset of the body length field inside the header. */
    public static final int BODY_LENGTH_OFFSET = 24;
    /**
     * Header flag, on Token frames only: the body ends with an {@code i32} compute time in
     * microseconds. Every other flag bit, and this one on any other frame, is refused.
     */
    public static final int FLAG_COMPUTE_TIME = 0x01;
    /** String fields carry an unsigned 16-bit length prefix. */
    public static final int MAX_STRING_BYTES = 0xFFFF;

    private WireFormat() {}
}
