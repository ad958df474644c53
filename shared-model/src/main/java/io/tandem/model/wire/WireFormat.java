package io.tandem.model.wire;

/** Constants of the frame layout (see the golden files' README for the full description). */
public final class WireFormat {

    /** "TNDM" in ASCII, the first four bytes of every frame. */
    public static final byte[] MAGIC = {'T', 'N', 'D', 'M'};
    /**
     * The version this build writes by default. It reads version 1 too, and answers a peer in the
     * version that peer spoke (see {@link Envelope#version()}): version 2 adds the Open fields for
     * streaming and verification and the Credit, Draft and Verified frames, and changes nothing
     * that version 1 has.
     */
    public static final int VERSION = 2;
    /** The oldest version this build still reads and writes. */
    public static final int MIN_VERSION = 1;
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

    /** The version byte of a message that decoded without error (read from its position, not consumed). */
    public static int versionOf(java.nio.ByteBuffer message) {
        return Byte.toUnsignedInt(message.get(message.position() + MAGIC.length));
    }

    /** The same, for a message in an array. */
    public static int versionOf(byte[] message) {
        return Byte.toUnsignedInt(message[MAGIC.length]);
    }

    /**
     * Throws IllegalArgumentException when {@code version} cannot carry {@code frame}: a version this
     * build does not write, a frame type from a later version, or a version 2 Open feature.
     */
    public static void requireWritable(Frame frame, int version) {
        if (version < MIN_VERSION || version > VERSION) {
            throw new IllegalArgumentException("version " + version + " is not in [" + MIN_VERSION + ", " + VERSION + "]");
        }
        if (frame.type().sinceVersion() > version) {
            throw new IllegalArgumentException(frame.type() + " frames need version " + frame.type().sinceVersion()
                    + ", not " + version);
        }
        if (version < 2 && frame instanceof Frame.Open open && !open.versionOneCompatible()) {
            throw new IllegalArgumentException("version 1 has no " + open.delivery() + " delivery or end tokens");
        }
    }
}
