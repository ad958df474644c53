package io.tandem.model.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Dequantization against blocks built here from known integers. Each block is packed the way ggml's
 * reference quantizers pack it (quantize_row_*_ref in ggml-quants.c: nibble order, high-bit planes, the
 * 6-bit scale and min packing of the K-quants), so a mismatch between that packing and the decoder shows;
 * the expected values come straight from the format's formulas on the chosen integers. The quantizers are
 * checked on hand-computed blocks (roundf ties, the Q4_0 sign convention) and by round trips.
 */
class GgmlQuantsTest {

    private static final Random RANDOM = new Random(42);

    private static ByteBuffer le(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static float[] dequantize(GgmlType type, ByteBuffer block, int count) {
        float[] out = new float[count];
        GgmlQuants.dequantize(type, block, 0, out, 0, count);
        return out;
    }

    /** A random fp16 scale of moderate size and either sign, as its bits. */
    private static short randomScale() {
        return Float.floatToFloat16((RANDOM.nextFloat() * 2 - 1) * 0.05f);
    }

    /** fp16 decoded by hand from sign, exponent and mantissa (independent of Float.float16ToFloat). */
    private static float halfByHand(short bits) {
        int sign = (bits >> 15) & 1;
        int exponent = (bits >> 10) & 0x1F;
        int mantissa = bits & 0x3FF;
        double value;
        if (exponent == 0) {
            value = mantissa * Math.pow(2, -24);
        } else if (exponent == 31) {
            value = mantissa == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
        } else {
            value = (1 + mantissa / 1024.0) * Math.pow(2, exponent - 15);
        }
        return (float) (sign == 1 ? -value : value);
    }

    // ---------------------------------------------------------------- plain types

    @Test
    void f16AndBf16DecodeKnownBitPatterns() {
        ByteBuffer f16 = le(12).putShort((short) 0x3C00).putShort((short) 0xC000).putShort((short) 0x7BFF)
                .putShort((short) 0x0001).putShort((short) 0x8000).putShort((short) 0x3555);
        assertThat(dequantize(GgmlType.F16, f16, 6)).containsExactly(1f, -2f, 65504f, 0x1p-24f, -0f, halfByHand((short) 0x3555));
        ByteBuffer bf16 = le(6).putShort((short) 0x3F80).putShort((short) 0xC040).putShort((short) 0x7F80);
        assertThat(dequantize(GgmlType.BF16, bf16, 3)).containsExactly(1f, -3f, Float.POSITIVE_INFINITY);
        ByteBuffer f32 = le(8).putFloat(1.5f).putFloat(-0.25f);
        assertThat(dequantize(GgmlType.F32, f32, 2)).containsExactly(1.5f, -0.25f);
        for (int bits = 0; bits < 0x10000; bits++) {
            if (((bits >> 10) & 0x1F) != 31) {
                assertThat(Float.float16ToFloat((short) bits)).isEqualTo(halfByHand((short) bits));
            }
        }
    }

    // ---------------------------------------------------------------- 32-value blocks

    @Test
    void q8_0IsScaleTimesSignedByte() {
        for (int trial = 0; trial < 100; trial++) {
            short d = randomScale();
            byte[] q = new byte[32];
            RANDOM.nextBytes(q);
            ByteBuffer block = le(34).putShort(d).put(q);
            float[] got = dequantize(GgmlType.Q8_0, block, 32);
            for (int i = 0; i < 32; i++) {
                assertThat(got[i]).isEqualTo(q[i] * Float.float16ToFloat(d));
            }
        }
    }

    @Test
    void q4_0PacksValueJAndJPlus16IntoByteJ() {
        for (int trial = 0; trial < 100; trial++) {
            short d = randomScale();
            int[] q = RANDOM.ints(32, 0, 16).toArray();
            ByteBuffer block = le(18).putShort(d);
            for (int j = 0; j < 16; j++) {
                block.put((byte) (q[j] | (q[j + 16] << 4)));
            }
            float[] got = dequantize(GgmlType.Q4_0, block, 32);
            for (int i = 0; i < 32; i++) {
                assertThat(got[i]).isEqualTo((q[i] - 8) * Float.float16ToFloat(d));
            }
        }
    }

    @Test
    void q4_1AddsTheMinimum() {
        for (int trial = 0; trial < 100; trial++) {
            short d = randomScale();
            short m = randomScale();
            int[] q = RANDOM.ints(32, 0, 16).toArray();
            ByteBuffer block = le(20).putShort(d).putShort(m);
            for (int j = 0; j < 16; j++) {
                block.put((byte) (q[j] | (q[j + 16] << 4)));
            }
            float[] got = dequantize(GgmlType.Q4_1, block, 32);
            for (int i = 0; i < 32; i++) {
                assertThat(got[i]).isEqualTo(q[i] * Float.float16ToFloat(d) + Float.float16ToFloat(m));
            }
        }
    }

    /** Q5_0/Q5_1 blocks as quantize_row_q5_*_ref packs them: nibbles as Q4_0, fifth bits of values j in qh bit j. */
    private static ByteBuffer q5Block(int headerBytes, ByteBuffer header, int[] q) {
        int qh = 0;
        for (int j = 0; j < 32; j++) {
            qh |= ((q[j] >> 4) & 1) << j;
        }
        ByteBuffer block = le(headerBytes + 4 + 16);
        block.put(header.array(), 0, headerBytes).putInt(qh);
        for (int j = 0; j < 16; j++) {
            block.put((byte) ((q[j] & 0xF) | ((q[j + 16] & 0xF) << 4)));
        }
        return block;
    }

    @Test
    void q5_0AddsAFifthBitFromQh() {
        for (int trial = 0; trial < 100; trial++) {
            short d = randomScale();
            int[] q = RANDOM.ints(32, 0, 32).toArray();
            float[] got = dequantize(GgmlType.Q5_0, q5Block(2, le(2).putShort(d), q), 32);
            for (int i = 0; i < 32; i++) {
                assertThat(got[i]).isEqualTo((q[i] - 16) * Float.float16ToFloat(d));
            }
        }
    }

    @Test
    void q5_1AddsTheMinimum() {
        for (int trial = 0; trial < 100; trial++) {
            short d = randomScale();
            short m = randomScale();
            int[] q = RANDOM.ints(32, 0, 32).toArray();
            float[] got = dequantize(GgmlType.Q5_1, q5Block(4, le(4).putShort(d).putShort(m), q), 32);
            for (int i = 0; i < 32; i++) {
                assertThat(got[i]).isEqualTo(q[i] * Float.float16ToFloat(d) + Float.float16ToFloat(m));
            }
        }
    }

    // ---------------------------------------------------------------- K-quants

    /** The 12 scale bytes of Q4_K/Q5_K as quantize_row_q4_K_ref packs eight 6-bit scales and mins. */
    private static byte[] packScalesAndMins(int[] ls, int[] lm) {
        int[] s = new int[12];
        for (int j = 0; j < 8; j++) {
            if (j < 4) {
                s[j] = ls[j];
                s[j + 4] = lm[j];
            } else {
                s[j + 4] = (ls[j] & 0xF) | ((lm[j] & 0xF) << 4);
                s[j - 4] |= (ls[j] >> 4) << 6;
                s[j] |= (lm[j] >> 4) << 6;
            }
        }
        byte[] out = new byte[12];
        for (int i = 0; i < 12; i++) {
            out[i] = (byte) s[i];
        }
        return out;
    }

    @Test
    void q4_KUsesSixBitScalesAndMinsPerThirtyTwoValues() {
        for (int trial = 0; trial < 200; trial++) {
            short d = randomScale();
            short dmin = randomScale();
            int[] ls = RANDOM.ints(8, 0, 64).toArray();
            int[] lm = RANDOM.ints(8, 0, 64).toArray();
            int[] q = RANDOM.ints(256, 0, 16).toArray();
            ByteBuffer block = le(144).putShort(d).putShort(dmin).put(packScalesAndMins(ls, lm));
            // quantize_row_q4_K_ref: each 64 values share 32 bytes, the first half low nibbles, the second high
            for (int j = 0; j < 256; j += 64) {
                for (int l = 0; l < 32; l++) {
                    block.put((byte) (q[j + l] | (q[j + l + 32] << 4)));
                }
            }
            assertKQuant(dequantize(GgmlType.Q4_K, block, 256), d, dmin, ls, lm, q);
        }
    }

    @Test
    void q5_KAddsAHighBitPlane() {
        for (int trial = 0; trial < 200; trial++) {
            short d = randomScale();
            short dmin = randomScale();
            int[] ls = RANDOM.ints(8, 0, 64).toArray();
            int[] lm = RANDOM.ints(8, 0, 64).toArray();
            int[] q = RANDOM.ints(256, 0, 32).toArray();
            // quantize_row_q5_K_ref: low nibbles as Q4_K; value n+j (n a multiple of 64) sets bit 2k of qh[j],
            // value n+j+32 bit 2k+1, with k = n / 64
            byte[] qh = new byte[32];
            byte[] ql = new byte[128];
            int m1 = 1;
            int m2 = 2;
            for (int n = 0; n < 256; n += 64) {
                for (int j = 0; j < 32; j++) {
                    int l1 = q[n + j];
                    int l2 = q[n + j + 32];
                    if (l1 > 15) {
                        l1 -= 16;
                        qh[j] |= (byte) m1;
                    }
                    if (l2 > 15) {
                        l2 -= 16;
                        qh[j] |= (byte) m2;
                    }
                    ql[n / 2 + j] = (byte) (l1 | (l2 << 4));
                }
                m1 <<= 2;
                m2 <<= 2;
            }
            ByteBuffer block = le(176).putShort(d).putShort(dmin).put(packScalesAndMins(ls, lm)).put(qh).put(ql);
            assertKQuant(dequantize(GgmlType.Q5_K, block, 256), d, dmin, ls, lm, q);
        }
    }

    /** dequantize_row_q4_K / q5_K: value i is (d * scale) * q - dmin * min of its sub-block of 32. */
    private static void assertKQuant(float[] got, short d, short dmin, int[] ls, int[] lm, int[] q) {
        float fd = Float.float16ToFloat(d);
        float fmin = Float.float16ToFloat(dmin);
        for (int i = 0; i < 256; i++) {
            int sub = i / 32;
            assertThat(got[i]).as("value %d", i).isEqualTo((fd * ls[sub]) * q[i] - fmin * lm[sub]);
        }
    }

    @Test
    void q6_KSpreadsSixBitsOverLowAndHighPlanes() {
        for (int trial = 0; trial < 200; trial++) {
            short d = randomScale();
            byte[] scales = new byte[16];
            RANDOM.nextBytes(scales);
            int[] stored = RANDOM.ints(256, 0, 64).toArray();
            // quantize_row_q6_K_ref: per 128 values, 64 low-nibble bytes and 32 bytes of 2-bit highs
            byte[] ql = new byte[128];
            byte[] qh = new byte[64];
            for (int j = 0; j < 256; j += 128) {
                for (int l = 0; l < 32; l++) {
                    int q1 = stored[j + l] & 0xF;
                    int q2 = stored[j + l + 32] & 0xF;
                    int q3 = stored[j + l + 64] & 0xF;
                    int q4 = stored[j + l + 96] & 0xF;
                    ql[j / 2 + l] = (byte) (q1 | (q3 << 4));
                    ql[j / 2 + l + 32] = (byte) (q2 | (q4 << 4));
                    qh[j / 4 + l] = (byte) ((stored[j + l] >> 4) | ((stored[j + l + 32] >> 4) << 2)
                            | ((stored[j + l + 64] >> 4) << 4) | ((stored[j + l + 96] >> 4) << 6));
                }
            }
            ByteBuffer block = le(210).put(ql).put(qh).put(scales).putShort(d);
            float[] got = dequantize(GgmlType.Q6_K, block, 256);
            float fd = Float.float16ToFloat(d);
            for (int i = 0; i < 256; i++) {
                // sixteen values share a scale
                assertThat(got[i]).as("value %d", i).isEqualTo(fd * scales[i / 16] * (stored[i] - 32));
            }
        }
    }

    @Test
    void blocksAreReadAtTheirOffsetsAndTheRestIsUntouched() {
        ByteBuffer two = le(4 + 2 * 34);
        two.putInt(0xDEADBEEF);
        two.putShort(Float.floatToFloat16(1f));
        for (int j = 0; j < 32; j++) {
            two.put((byte) j);
        }
        two.putShort(Float.floatToFloat16(-2f));
        for (int j = 0; j < 32; j++) {
            two.put((byte) -j);
        }
        float[] out = new float[66];
        out[0] = 7f;
        out[65] = 9f;
        GgmlQuants.dequantize(GgmlType.Q8_0, two, 4, out, 1, 64);
        assertThat(out[0]).isEqualTo(7f);
        assertThat(out[65]).isEqualTo(9f);
        for (int j = 0; j < 32; j++) {
            assertThat(out[1 + j]).isEqualTo(j);
            assertThat(out[33 + j]).isEqualTo(2f * j + 0f);
        }
        assertThatThrownBy(() -> GgmlQuants.dequantize(GgmlType.Q8_0, two, 4, new float[64], 0, 33))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> GgmlQuants.dequantize(GgmlType.Q8_0, two, 10, new float[64], 0, 64))
                .isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> GgmlQuants.dequantize(GgmlType.Q2_K, le(84), 0, new float[256], 0, 256))
                .isInstanceOf(UnsupportedOperationException.class);
    }

    // ---------------------------------------------------------------- quantizers

    @Test
    void q8_0QuantizesWithCRoundf() {
        // max |x| = 127 makes d exactly 1, so q is roundf(x): halves go away from zero
        float[] x = new float[32];
        x[0] = 127f;
        x[1] = -127f;
        x[2] = 2.5f;
        x[3] = -2.5f;
        x[4] = 0.49999997f;
        x[5] = -0.5f;
        x[6] = 1.5f;
        x[7] = -1.4f;
        ByteBuffer out = le(34);
        GgmlQuants.quantizeQ8_0(x, 0, 32, out);
        assertThat(out.position()).isEqualTo(34);
        assertThat(out.getShort(0)).isEqualTo((short) 0x3C00);
        byte[] q = new byte[32];
        out.get(2, q);
        assertThat(q).startsWith(new byte[] {127, -127, 3, -3, 0, -1, 2, -1, 0});
        // an all-zero block: d = 0 and every q 0
        ByteBuffer zero = le(34);
        GgmlQuants.quantizeQ8_0(new float[32], 0, 32, zero);
        assertThat(zero.array()).containsOnly(0);
    }

    @Test
    void q4_0KeepsTheSignOfTheLargestValueInTheScale() {
        // the largest magnitude is -8, so d = -8 / -8 = 1 and q = min(15, (int) (x + 8.5))
        float[] x = new float[32];
        float[] firstHalf = {-8f, 7f, 7.49f, 7.6f, 0f, -0.5f, -0.51f, 0.5f};
        System.arraycopy(firstHalf, 0, x, 0, firstHalf.length);
        x[16] = 3f;
        ByteBuffer out = le(18);
        GgmlQuants.quantizeQ4_0(x, 0, 32, out);
        assertThat(out.getShort(0)).isEqualTo((short) 0x3C00);
        int[] expectedLow = {0, 15, 15, 15, 8, 8, 7, 9};
        for (int j = 0; j < expectedLow.length; j++) {
            assertThat(out.get(2 + j) & 0xF).as("q[%d]", j).isEqualTo(expectedLow[j]);
        }
        assertThat((out.get(2) & 0xFF) >>> 4).isEqualTo(11);
        // largest magnitude positive: d = -1, so the largest value is stored as 0 and restored as 8
        float[] y = new float[32];
        y[5] = 8f;
        ByteBuffer neg = le(18);
        GgmlQuants.quantizeQ4_0(y, 0, 32, neg);
        assertThat(Float.float16ToFloat(neg.getShort(0))).isEqualTo(-1f);
        assertThat(dequantize(GgmlType.Q4_0, neg, 32)[5]).isEqualTo(8f);
    }

    @Test
    void quantizedRoundTripsStayWithinTheStep() {
        float[] x = new float[32 * 64];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) RANDOM.nextGaussian() * (1 + i / 32);
        }
        ByteBuffer q8 = le(34 * 64);
        GgmlQuants.quantizeQ8_0(x, 0, x.length, q8);
        float[] back8 = dequantize(GgmlType.Q8_0, q8, x.length);
        ByteBuffer q4 = le(18 * 64);
        GgmlQuants.quantizeQ4_0(x, 0, x.length, q4);
        float[] back4 = dequantize(GgmlType.Q4_0, q4, x.length);
        for (int b = 0; b < 64; b++) {
            float d8 = Math.abs(Float.float16ToFloat(q8.getShort(b * 34)));
            float d4 = Math.abs(Float.float16ToFloat(q4.getShort(b * 18)));
            for (int j = 0; j < 32; j++) {
                int i = b * 32 + j;
                // half a step, plus what rounding the scale to fp16 moves the largest value
                assertThat(Math.abs(back8[i] - x[i])).isLessThanOrEqualTo(0.5f * d8 + 127 * d8 * 0x1p-11f + 1e-6f);
                // up to a whole step: the value at the clamped end (q = 16 -> 15) loses one
                assertThat(Math.abs(back4[i] - x[i])).isLessThanOrEqualTo(d4 + 8 * d4 * 0x1p-11f + 1e-6f);
            }
        }
    }

    @Test
    void f16QuantizationRoundsToNearestEven() {
        ByteBuffer out = le(6);
        // 1 + 2^-11 lies halfway between 1 and the next half (1 + 2^-10): ties go to the even mantissa, 1
        GgmlQuants.quantizeF16(new float[] {1f + 0x1p-11f, 1f + 3 * 0x1p-11f, 70000f}, 0, 3, out);
        assertThat(out.getShort(0)).isEqualTo((short) 0x3C00);
        assertThat(out.getShort(2)).isEqualTo((short) 0x3C02);
        assertThat(out.getShort(4)).isEqualTo((short) 0x7C00);
    }
}
