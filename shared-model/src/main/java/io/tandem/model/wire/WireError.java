package io.tandem.model.wire;

/**
 * Every way a received frame can be wrong. Each kind maps to exactly one WebSocket close code,
 * here and nowhere else, so the cloud and the edge close a broken link the same way and a peer
 * can tell from the close code alone what it sent wrong.
 */
public enum WireError {
    /** The first four bytes are not "TNDM": not a Tandem frame at all. */
    BAD_MAGIC,
    /** A Tandem frame of a protocol version this build does not speak. */
    UNSUPPORTED_VERSION,
    /** A frame type code outside the closed set. */
    UNKNOWN_TYPE,
    /** The message ends before the header or the body does. */
    TRUNCATED,
    /** Declared lengths disagree with each other or with the bytes present (e.g. trailing bytes). */
    LENGTH_MISMATCH,
    /** A frame, string, shape or count beyond the configured {@link WireLimits}. */
    TOO_LARGE,
    /**
     * A field with a value the protocol does not allow: negative counts, NaN temperature, unknown
     * dtype, compression, mode or finish reason, invalid UTF-8, reserved bits set.
     */
    BAD_VALUE,
    /** A compressed payload that does not decompress to exactly the declared size. */
    DECOMPRESSION_FAILED;

    /** RFC 6455 "protocol error". */
    public static final int CLOSE_PROTOCOL_ERROR = 1002;
    /** RFC 6455 "message too big". */
    public static final int CLOSE_MESSAGE_TOO_BIG = 1009;

    /**
     * The WebSocket close code to end the connection with. Standard codes where RFC 6455 has one
     * that fits; otherwise the 4000-4999 private range, one code per kind.
     */
    public int closeCode() {
        return switch (this) {
            case BAD_MAGIC -> CLOSE_PROTOCOL_ERROR;
            case TOO_LARGE -> CLOSE_MESSAGE_TOO_BIG;
            case UNSUPPORTED_VERSION -> 4001;
            case UNKNOWN_TYPE -> 4002;
            case TRUNCATED -> 4003;
            case LENGTH_MISMATCH -> 4004;
            case BAD_VALUE -> 4005;
            case DECOMPRESSION_FAILED -> 4006;
        };
    }
}
