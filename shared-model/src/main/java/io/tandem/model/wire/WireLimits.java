package io.tandem.model.wire;

/**
 * What a decoder accepts at most. Every allocation the decoder makes is bounded by these, so a
 * peer cannot make it allocate more by lying in a length field.
 *
 * @param maxFrameBytes the whole WebSocket message, header included
 * @param maxPositions positions in one Activations frame, and token ids in one Tokens frame
 * @param maxWidth hidden width of one Activations frame
 * @param maxStringBytes UTF-8 bytes of one string field (manifest hash, error message)
 */
public record WireLimits(int maxFrameBytes, int maxPositions, int maxWidth, int maxStringBytes) {

    /** Room for a 4096-position prefill of a 4096-wide model in fp16 (32 MiB), plus the header. */
    public static final WireLimits DEFAULT = new WireLimits(64 << 20, 4096, 16384, 4096);

    public WireLimits {
        if (maxFrameBytes < WireFormat.HEADER_BYTES) {
            throw new IllegalArgumentException("maxFrameBytes must hold at least a header, was " + maxFrameBytes);
        }
        if (maxPositions < 1 || maxWidth < 1) {
            throw new IllegalArgumentException("maxPositions and maxWidth must be >= 1");
        }
        if (maxStringBytes < 0 || maxStringBytes > WireFormat.MAX_STRING_BYTES) {
            throw new IllegalArgumentException("maxStringBytes must be in [0, " + WireFormat.MAX_STRING_BYTES + "]");
        }
    }
}
