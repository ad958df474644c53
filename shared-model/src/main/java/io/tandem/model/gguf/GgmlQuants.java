package io.tandem.model.gguf;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * ggml's block formats: dequantization of F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K and Q6_K to floats,
 * and the reference quantizers for Q8_0 and Q4_0 ({@code quantize_row_q8_0_ref}, {@code quantize_row_q4_0_ref}
 * in ggml-quants.c), bit for bit, so files written here load in llama.cpp as if its own tools wrote them.
 *
 * <p>Layouts (fp16 scales, little-endian):
 * <ul>
 *   <li>Q4_0 (32 values, 18 bytes): d, 16 bytes of nibbles; value j is low nibble of byte j, value j+16 the
 *       high nibble; x = (q - 8) * d.</li>
 *   <li>Q4_1 (32, 20): d, m, nibbles as Q4_0; x = q * d + m.</li>
 *   <li>Q5_0 (32, 22): d, 4 bytes of fifth bits (a little-endian uint32 qh), nibbles as Q4_0; the fifth bit
 *       of value j is bit j of qh, that of value j+16 bit j+16; x = (q - 16) * d. Q4_K_M files of models whose
 *       width is not a multiple of 256 (Qwen2.5-0.5B) fall back to it.</li>
 *   <li>Q5_1 (32, 24): d, m, qh, nibbles as Q5_0; x = q * d + m.</li>
 *   <li>Q8_0 (32, 34): d, 32 int8; x = q * d.</li>
 *   <li>Q4_K (256, 144): d, dmin, 12 bytes of eight 6-bit scales and mins, 128 bytes of nibbles. Each 64
 *       values share 32 bytes: the first 32 values are low nibbles, the next 32 high nibbles, each half
 *       with its own scale and min; x = d * scale * q - dmin * min.</li>
 *   <li>Q5_K (256, 176): d, dmin, scales as Q4_K, 32 bytes of high bits, 128 bytes of nibbles; the fifth
 *       bit of value l in the k-th 32-value group is bit k of high byte l.</li>
 *   <li>Q6_K (256, 210): 128 bytes of low nibbles, 64 bytes of 2-bit highs, 16 int8 scales, d; each 128
 *       values use 64 low and 32 high bytes; 16 values share a scale; x = d * scale * (q - 32).</li>
 * </ul>
 * The arithmetic follows ggml's reference C order of float operations, so results match it exactly.
 * No method allocates.
 */
public final class GgmlQuants {

    public static final int QK = 32;
    public static final int QK_K = 256;

    private GgmlQuants() {
    }

    /**
     * Dequantizes {@code count} values (a whole number of blocks) of {@code type} stored in {@code src}
     * from byte {@code srcOffset} (absolute; the buffer's position is ignored and unchanged) into
     * {@code dst} at {@code dstOffset}. The buffer must be little-endian.
     */
    public static void dequantize(GgmlType type, ByteBuffer src, int srcOffset, float[] dst, int dstOffset, int count) {
        if (src.order() != ByteOrder.LITTLE_ENDIAN) {
            throw new IllegalArgumentException("the source buffer must be little-endian");
        }
        int blocks = count / type.blockSize();
        if (count % type.blockSize() != 0) {
            throw new IllegalArgumentException(count + " values are not a whole number of " + type + " blocks");
        }
        if (srcOffset < 0 || (long) srcOffset + (long) blocks * type.typeSize() > src.limit()) {
            throw new IndexOutOfBoundsException(blocks + " " + type + " blocks at byte " + srcOffset
                    + " run past the buffer's " + src.limit() + " bytes");
        }
        if (dstOffset < 0 || dstOffset > dst.length - count) {
            throw new IndexOutOfBoundsException(count + " values at " + dstOffset + " do not fit a float[" + dst.length + "]");
        }
        switch (type) {
            case F32 -> {
                for (int i = 0; i < count; i++) {
                    dst[dstOffset + i] = src.getFloat(srcOffset + 4 * i);
                }
            }
            case F16 -> {
                for (int i = 0; i < count; i++) {
                    dst[dstOffset + i] = Float.float16ToFloat(src.getShort(srcOffset + 2 * i));
                }
            }
            case BF16 -> {
                for (int i = 0; i < count; i++) {
                    dst[dstOffset + i] = bf16ToFloat(src.getShort(srcOffset + 2 * i));
                }
            }
            case Q8_0 -> blocks(type, src, srcOffset, dst, dstOffset, blocks, GgmlQuants::q8_0);
            case Q4_0 -> blocks(type, src, srcOffset, dst, dstOffset, blocks, GgmlQuants::q4_0);
            case Q4_1 -> blocks(type, src, srcOffset, dst, dstOffset, blocks, GgmlQuants::q4_1);
            case Q5_0 -> blocks(type, src, srcOffset, dst, dstOffset, blocks, GgmlQuants::q5_0);
            case Q5_1 -> blocks(type, src, srcOffset, dst, dstOffset, blocks, GgmlQuants::q5_1);
            case Q4_K -> blocks(type, src, srcOffset, dst, dstOffset, blocks, GgmlQuants::q4_K);
            case Q5_K -> blocks(type, src, srcOffset, dst, dstOffset, blocks, GgmlQuants::q5_K);
            case Q6_K -> blocks(type, src, srcOffset, dst, dstOffset, blocks, GgmlQuants::q6_K);
            default -> throw new UnsupportedOperationException("cannot dequantize " + type);
        }
    }

    /** Dequantizes one block: its bytes start at {@code p}, its values go to {@code dst[o..]}. */
    @FunctionalInterface
    private interface BlockDecoder {
        void decode(ByteBuffer src, int p, float[] dst, int o);
    }

    private static void blocks(GgmlType type, ByteBuffer src, int srcOffset, float[] dst, int dstOffset, int blocks,
                               BlockDecoder block) {
        for (int b = 0; b < blocks; b++) {
            block.decode(src, srcOffset + b * type.typeSize(), dst, dstOffset + b * type.blockSize());
        }
    }

    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    private static void q8_0(ByteBuffer src, int p, float[] dst, int o) {
        float d = Float.float16ToFloat(src.getShort(p));
        for (int j = 0; j < QK; j++) {
            dst[o + j] = src.get(p + 2 + j) * d;
        }
    }

    private static void q4_0(ByteBuffer src, int p, float[] dst, int o) {
        float d = Float.float16ToFloat(src.getShort(p));
        for (int j = 0; j < QK / 2; j++) {
            int q = src.get(p + 2 + j) & 0xFF;
            dst[o + j] = ((q & 0xF) - 8) * d;
            dst[o + j + QK / 2] = ((q >>> 4) - 8) * d;
        }
    }

    private static void q4_1(ByteBuffer src, int p, float[] dst, int o) {
        float d = Float.float16ToFloat(src.getShort(p));
        float m = Float.float16ToFloat(src.getShort(p + 2));
        for (int j = 0; j < QK / 2; j++) {
            int q = src.get(p + 4 + j) & 0xFF;
            dst[o + j] = (q & 0xF) * d + m;
            dst[o + j + QK / 2] = (q >>> 4) * d + m;
        }
    }

    private static void q5_0(ByteBuffer src, int p, float[] dst, int o) {
        float d = Float.float16ToFloat(src.getShort(p));
        int qh = src.getInt(p + 2);
        for (int j = 0; j < QK / 2; j++) {
            int q = src.get(p + 6 + j) & 0xFF;
            int x0 = ((q & 0xF) | (((qh >>> j) << 4) & 0x10)) - 16;
            int x1 = ((q >>> 4) | ((qh >>> (j + 12)) & 0x10)) - 16;
            dst[o + j] = x0 * d;
            dst[o + j + QK / 2] = x1 * d;
        }
    }

    private static void q5_1(ByteBuffer src, int p, float[] dst, int o) {
        float d = Float.float16ToFloat(src.getShort(p));
        float m = Float.float16ToFloat(src.getShort(p + 2));
        int qh = src.getInt(p + 4);
        for (int j = 0; j < QK / 2; j++) {
            int q = src.get(p + 8 + j) & 0xFF;
            int x0 = (q & 0xF) | (((qh >>> j) << 4) & 0x10);
            int x1 = (q >>> 4) | ((qh >>> (j + 12)) & 0x10);
            dst[o + j] = x0 * d + m;
            dst[o + j + QK / 2] = x1 * d + m;
        }
    }

    private static void q4_K(ByteBuffer src, int p, float[] dst, int o) {
        kQuant(src, p, -1, p + 16, dst, o);
    }

    private static void q5_K(ByteBuffer src, int p, float[] dst, int o) {
        kQuant(src, p, p + 16, p + 48, dst, o);
    }

    /**
     * Q4_K and Q5_K: eight sub-blocks of 32 with 6-bit scales and mins; Q5_K adds a fifth bit per value
     * from the 32 bytes at {@code qh} (-1 for Q4_K).
     */
    private static void kQuant(ByteBuffer src, int p, int qh, int qs, float[] dst, int o) {
        float d = Float.float16ToFloat(src.getShort(p));
        float dmin = Float.float16ToFloat(src.getShort(p + 2));
        int scales = p + 4;
        for (int group = 0; group < 4; group++) {
            int sub = 2 * group;
            float d1 = d * kScale(src, scales, sub);
            float m1 = dmin * kMin(src, scales, sub);
            float d2 = d * kScale(src, scales, sub + 1);
            float m2 = dmin * kMin(src, scales, sub + 1);
            int lowBit = 1 << (2 * group);
            int highBit = lowBit << 1;
            int q = qs + 32 * group;
            int y = o + 64 * group;
            for (int l = 0; l < 32; l++) {
                int b = src.get(q + l) & 0xFF;
                int h = qh < 0 ? 0 : src.get(qh + l);
                dst[y + l] = d1 * ((b & 0xF) + ((h & lowBit) != 0 ? 16 : 0)) - m1;
                dst[y + 32 + l] = d2 * ((b >>> 4) + ((h & highBit) != 0 ? 16 : 0)) - m2;
            }
        }
    }

    private static void q6_K(ByteBuffer src, int p, float[] dst, int o) {
        float d = Float.float16ToFloat(src.getShort(p + 208));
        for (int half = 0; half < 2; half++) {
            int ql = p + 64 * half;
            int qh = p + 128 + 32 * half;
            int sc = p + 192 + 8 * half;
            int y = o + 128 * half;
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                int low0 = src.get(ql + l) & 0xFF;
                int low1 = src.get(ql + l + 32) & 0xFF;
                int high = src.get(qh + l) & 0xFF;
                int q1 = ((low0 & 0xF) | ((high & 3) << 4)) - 32;
                int q2 = ((low1 & 0xF) | (((high >>> 2) & 3) << 4)) - 32;
                int q3 = ((low0 >>> 4) | (((high >>> 4) & 3) << 4)) - 32;
                int q4 = ((low1 >>> 4) | (((high >>> 6) & 3) << 4)) - 32;
                dst[y + l] = d * src.get(sc + is) * q1;
                dst[y + l + 32] = d * src.get(sc + is + 2) * q2;
                dst[y + l + 64] = d * src.get(sc + is + 4) * q3;
                dst[y + l + 96] = d * src.get(sc + is + 6) * q4;
            }
        }
    }

    /**
     * The 6-bit scale of sub-block {@code j} (0..7) of a Q4_K/Q5_K block: sub-blocks 0-3 keep theirs in the
     * low 6 bits of bytes 0-3; 4-7 split theirs into the low nibble of bytes 8-11 and the top 2 bits of
     * bytes 0-3 (ggml's get_scale_min_k4).
     */
    private static int kScale(ByteBuffer src, int scales, int j) {
        if (j < 4) {
            return src.get(scales + j) & 63;
        }
        return (src.get(scales + j + 4) & 0xF) | (((src.get(scales + j - 4) & 0xFF) >>> 6) << 4);
    }

    /** The 6-bit min of sub-block {@code j}: bytes 4-7 low 6 bits, or high nibble of 8-11 plus top bits of 4-7. */
    private static int kMin(ByteBuffer src, int scales, int j) {
        if (j < 4) {
            return src.get(scales + j + 4) & 63;
        }
        return ((src.get(scales + j + 4) & 0xFF) >>> 4) | (((src.get(scales + j) & 0xFF) >>> 6) << 4);
    }

    // ------------------------------------------------------------------ quantization

    /**
     * quantize_row_q8_0_ref: per block of 32, d = max|x| / 127 stored as fp16, q = round(x / d) with
     * C's roundf (halves away from zero). Writes {@code count / 32 * 34} bytes at {@code dst}'s position
     * and advances it; {@code dst} must be little-endian.
     */
    public static void quantizeQ8_0(float[] src, int srcOffset, int count, ByteBuffer dst) {
        checkQuantize(src, srcOffset, count, dst, 34);
        for (int b = 0; b < count / QK; b++) {
            int x = srcOffset + b * QK;
            float amax = 0f;
            for (int j = 0; j < QK; j++) {
                amax = Math.max(amax, Math.abs(src[x + j]));
            }
            float d = amax / 127;
            float id = d != 0f ? 1.0f / d : 0f;
            dst.putShort(Float.floatToFloat16(d));
            for (int j = 0; j < QK; j++) {
                dst.put((byte) roundf(src[x + j] * id));
            }
        }
    }

    /**
     * quantize_row_q4_0_ref: per block of 32, d = (the value of largest magnitude, sign kept) / -8 as fp16,
     * q = min(15, (int) (x / d + 8.5)); values j and j+16 share byte j (low and high nibble).
     */
    public static void quantizeQ4_0(float[] src, int srcOffset, int count, ByteBuffer dst) {
        checkQuantize(src, srcOffset, count, dst, 18);
        for (int b = 0; b < count / QK; b++) {
            int x = srcOffset + b * QK;
            float amax = 0f;
            float max = 0f;
            for (int j = 0; j < QK; j++) {
                float v = src[x + j];
                if (amax < Math.abs(v)) {
                    amax = Math.abs(v);
                    max = v;
                }
            }
            float d = max / -8;
            float id = d != 0f ? 1.0f / d : 0f;
            dst.putShort(Float.floatToFloat16(d));
            for (int j = 0; j < QK / 2; j++) {
                float x0 = src[x + j] * id;
                float x1 = src[x + QK / 2 + j] * id;
                // C converts the float to int8_t, truncating toward zero; the +8.5 makes that a rounding
                int q0 = Math.min(15, (int) (x0 + 8.5f));
                int q1 = Math.min(15, (int) (x1 + 8.5f));
                dst.put((byte) (q0 | (q1 << 4)));
            }
        }
    }

    /** F16 as ggml writes it: round to nearest even. */
    public static void quantizeF16(float[] src, int srcOffset, int count, ByteBuffer dst) {
        checkQuantize(src, srcOffset, count, dst, -1);
        for (int i = 0; i < count; i++) {
            dst.putShort(Float.floatToFloat16(src[srcOffset + i]));
        }
    }

    /** C's roundf: halves go away from zero (Math.round would send -2.5 to -2). */
    static float roundf(float x) {
        double r = Math.floor(Math.abs((double) x) + 0.5);
        return (float) Math.copySign(r, x);
    }

    private static void checkQuantize(float[] src, int srcOffset, int count, ByteBuffer dst, int blockBytes) {
        if (dst.order() != ByteOrder.LITTLE_ENDIAN) {
            throw new IllegalArgumentException("the destination buffer must be little-endian");
        }
        if (srcOffset < 0 || count < 0 || srcOffset > src.length - count) {
            throw new IndexOutOfBoundsException(count + " values at " + srcOffset + " are outside a float[" + src.length + "]");
        }
        long bytes;
        if (blockBytes < 0) {
            bytes = 2L * count;
        } else {
            if (count % QK != 0) {
                throw new IllegalArgumentException(count + " values are not a whole number of blocks of " + QK);
            }
            bytes = (long) count / QK * blockBytes;
        }
        if (bytes > dst.remaining()) {
            throw new IndexOutOfBoundsException(bytes + " bytes do not fit the " + dst.remaining() + " remaining");
        }
    }
}
