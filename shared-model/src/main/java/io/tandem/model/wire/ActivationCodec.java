package io.tandem.model.wire;

import com.github.luben.zstd.Zstd;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * Encodes row-major float activations {@code [positions][width]} into an Activations payload and
 * back. Layouts (little-endian, before optional zstd):
 * <ul>
 *   <li>fp32: positions*width IEEE binary32 values, bit exact;
 *   <li>fp16: positions*width IEEE binary16 values, rounded to nearest even;
 *   <li>int8: per row, a binary32 scale (the row's absolute maximum) then width signed bytes
 *       q = round(x / scale * 127), in [-127, 127]; decoded as q * scale / 127.
 * </ul>
 * With zstd the payload is the zstd compression of that layout. Decoding never allocates more
 * than the declared shape's raw size: a payload that would decompress to more fails instead.
 */
public final class ActivationCodec {

    /** zstd's own default: on hidden states, higher levels cost latency for a few percent. */
    public static final int ZSTD_LEVEL = 3;

    private static final float INT8_MAX = 127f;

    private ActivationCodec() {}

    /** An Activations frame for {@code values} (row-major, exactly positions*width long). */
    public static Frame.Activations encode(int startPosition, float[] values, int positions, int width, Codec codec) {
        return new Frame.Activations(startPosition, positions, width, codec, encodePayload(values, positions, width, codec));
    }

    /**
     * The payload bytes. Throws IllegalArgumentException for a shape that does not match the
     * array, or for non-finite values with int8 (a NaN or infinite absmax has no meaningful scale).
     */
    public static byte[] encodePayload(float[] values, int positions, int width, Codec codec) {
        Objects.requireNonNull(values, "values");
        Objects.requireNonNull(codec, "codec");
        if (positions < 1 || width < 1 || (long) positions * width != values.length) {
            throw new IllegalArgumentException("shape " + positions + "x" + width + " does not match " + values.length + " values");
        }
        long rawLength = codec.dtype().rawBytes(positions, width);
        if (rawLength > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("payload of " + rawLength + " bytes is too large for one frame");
        }
        byte[] raw = new byte[(int) rawLength];
        ByteBuffer out = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        switch (codec.dtype()) {
            case FP32 -> out.asFloatBuffer().put(values);
            case FP16 -> {
                for (float value : values) {
                    out.putShort(Float.floatToFloat16(value));
                }
            }
            case INT8 -> encodeInt8(values, positions, width, out);
        }
        return switch (codec.compression()) {
            case NONE -> raw;
            case ZSTD -> Zstd.compress(raw, ZSTD_LEVEL);
        };
    }

    private static void encodeInt8(float[] values, int positions, int width, ByteBuffer out) {
        for (int row = 0; row < positions; row++) {
            int base = row * width;
            float absmax = 0f;
            for (int i = 0; i < width; i++) {
                float value = values[base + i];
                if (!Float.isFinite(value)) {
                    throw new IllegalArgumentException("int8 cannot encode " + value + " at position " + row + ", index " + i);
                }
                absmax = Math.max(absmax, Math.abs(value));
            }
            out.putFloat(absmax);
            for (int i = 0; i < width; i++) {
                // An all-zero row has scale 0: every q is 0, and decoding gives exact zeros back.
                int q = absmax == 0f ? 0 : Math.round(values[base + i] / absmax * INT8_MAX);
                out.put((byte) Math.clamp(q, -127, 127));
            }
        }
    }

    /** The decoded values, row-major, positions*width long. */
    public static float[] decode(Frame.Activations activations) {
        float[] values = new float[Math.multiplyExact(activations.positions(), activations.width())];
        decodeInto(activations, values, 0);
        return values;
    }

    /**
     * Decodes into {@code dest} from {@code offset}, so that a caller can reuse one array (or fill a
     * batch) per step. Throws only {@link WireException}: DECOMPRESSION_FAILED when a zstd payload
     * does not decompress to exactly the raw size of the declared shape, BAD_VALUE for an int8 scale
     * that is negative or not finite, or a byte of -128 (which no encoder produces).
     */
    public static void decodeInto(Frame.Activations activations, float[] dest, int offset) {
        int positions = activations.positions();
        int width = activations.width();
        long count = (long) positions * width;
        if (offset < 0 || offset + count > dest.length) {
            throw new IllegalArgumentException("destination of " + dest.length + " floats cannot hold " + count + " at " + offset);
        }
        ActivationDtype dtype = activations.codec().dtype();
        long rawLength = dtype.rawBytes(positions, width);
        if (rawLength > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("shape " + positions + "x" + width + " is too large for one payload");
        }
        byte[] raw = switch (activations.codec().compression()) {
            case NONE -> activations.payload();
            case ZSTD -> decompress(activations.payload(), rawLength);
        };
        if (raw.length != rawLength) {
            throw new WireException(WireError.LENGTH_MISMATCH, "payload of " + raw.length + " bytes, shape needs " + rawLength);
        }
        ByteBuffer in = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        switch (dtype) {
            case FP32 -> in.asFloatBuffer().get(dest, offset, (int) count);
            case FP16 -> {
                for (int i = 0; i < count; i++) {
                    dest[offset + i] = Float.float16ToFloat(in.getShort());
                }
            }
            case INT8 -> decodeInt8(in, positions, width, dest, offset);
        }
    }

    private static void decodeInt8(ByteBuffer in, int positions, int width, float[] dest, int offset) {
        for (int row = 0; row < positions; row++) {
            float scale = in.getFloat();
            if (!(scale >= 0f) || Float.isInfinite(scale)) {
                throw new WireException(WireError.BAD_VALUE, "int8 scale " + scale + " at position " + row);
            }
            float step = scale / INT8_MAX;
            int base = offset + row * width;
            for (int i = 0; i < width; i++) {
                byte q = in.get();
                if (q == Byte.MIN_VALUE) {
                    throw new WireException(WireError.BAD_VALUE, "int8 value -128 at position " + row + ", index " + i);
                }
                dest[base + i] = q * step;
            }
        }
    }

    /**
     * Decompresses into an array of exactly the expected size, allocated only after the shape was
     * checked against the limits: a zstd bomb runs out of room and fails, it never grows a buffer.
     */
    private static byte[] decompress(byte[] compressed, long expected) {
        long declared = Zstd.getFrameContentSize(compressed);
        // A declared size (>= 0) must match; unknown sizes (streamed frames) are bounded below anyway.
        if (declared >= 0 && declared != expected) {
            throw new WireException(WireError.DECOMPRESSION_FAILED, "zstd frame declares " + declared + " bytes, shape needs " + expected);
        }
        byte[] raw = new byte[(int) expected];
        long written;
        try {
            written = Zstd.decompressByteArray(raw, 0, raw.length, compressed, 0, compressed.length);
        } catch (RuntimeException zstdError) {
            // zstd-jni reports corrupt input and a too-small destination as ZstdException.
            throw new WireException(WireError.DECOMPRESSION_FAILED, String.valueOf(zstdError.getMessage()), zstdError);
        }
        if (Zstd.isError(written)) {
            throw new WireException(WireError.DECOMPRESSION_FAILED, Zstd.getErrorName(written));
        }
        if (written != expected) {
            throw new WireException(WireError.DECOMPRESSION_FAILED, "zstd payload gave " + written + " bytes, shape needs " + expected);
        }
        return raw;
    }
}
