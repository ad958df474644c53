package io.tandem.model.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ActivationCodecTest {

    private static final int POSITIONS = 7;
    private static final int WIDTH = 96;

    @Test
    void fp32IsBitExactWithAndWithoutZstd() {
        float[] values = randomRows(new SplittableRandom(1), POSITIONS, WIDTH, 8f);
        values[0] = -0.0f;
        values[1] = Float.MIN_VALUE;
        values[2] = Float.intBitsToFloat(0x7fc01234); // a NaN with a payload
        values[3] = Float.NEGATIVE_INFINITY;
        values[4] = Float.MAX_VALUE;
        for (Codec codec : new Codec[] {Codec.FP32, Codec.FP32.withZstd()}) {
            float[] decoded = roundTrip(values, codec);
            for (int i = 0; i < values.length; i++) {
                assertThat(Float.floatToRawIntBits(decoded[i])).as(codec.label() + " [" + i + "]")
                        .isEqualTo(Float.floatToRawIntBits(values[i]));
            }
        }
    }

    @Test
    void fp16RoundsToTheNearestHalfWithTiesToEven() {
        float[] values = randomRows(new SplittableRandom(2), POSITIONS, WIDTH, 30f);
        values[0] = 1f + 1f / 2048; // exactly between 1 and the next half (1 + 2^-10): ties to even gives 1
        values[1] = 1f + 3f / 2048; // between 1+2^-10 (odd mantissa) and 1+2^-9: ties to even goes up
        for (Codec codec : new Codec[] {Codec.FP16, Codec.FP16.withZstd()}) {
            float[] decoded = roundTrip(values, codec);
            assertThat(decoded[0]).isEqualTo(1f);
            assertThat(decoded[1]).isEqualTo(1f + 1f / 512);
            for (int i = 0; i < values.length; i++) {
                float x = values[i];
                float y = decoded[i];
                // The naive reference: no representable half is nearer than the chosen one.
                short half = Float.floatToFloat16(y);
                float below = Float.float16ToFloat((short) (half - 1));
                float above = Float.float16ToFloat((short) (half + 1));
                if (!Float.isNaN(below) && Math.signum(below) == Math.signum(y)) {
                    assertThat(Math.abs(x - y)).as("[" + i + "] " + x + " -> " + y).isLessThanOrEqualTo(Math.abs(x - below));
                }
                if (!Float.isNaN(above) && Math.signum(above) == Math.signum(y)) {
                    assertThat(Math.abs(x - y)).as("[" + i + "] " + x + " -> " + y).isLessThanOrEqualTo(Math.abs(x - above));
                }
                // And the relative error bound of an 11-bit significand (values here are normal halves).
                if (Math.abs(x) >= 6.2e-5f) {
                    assertThat(Math.abs(x - y)).isLessThanOrEqualTo(Math.abs(x) * 0x1p-11f);
                }
            }
        }
    }

    @Test
    void int8StaysWithinHalfAStepOfEachRowsScale() {
        float[] values = randomRows(new SplittableRandom(3), POSITIONS, WIDTH, 5f);
        // One all-zero row and one row with a single large outlier.
        java.util.Arrays.fill(values, 2 * WIDTH, 3 * WIDTH, 0f);
        values[3 * WIDTH + 5] = 400f;
        for (Codec codec : new Codec[] {Codec.INT8, Codec.INT8.withZstd()}) {
            float[] decoded = roundTrip(values, codec);
            for (int row = 0; row < POSITIONS; row++) {
                double absmax = 0;
                for (int i = 0; i < WIDTH; i++) {
                    absmax = Math.max(absmax, Math.abs(values[row * WIDTH + i]));
                }
                for (int i = 0; i < WIDTH; i++) {
                    int at = row * WIDTH + i;
                    // Naive reference in double precision: nearest multiple of absmax/127.
                    double reference = absmax == 0 ? 0 : Math.round(values[at] / absmax * 127) * absmax / 127;
                    double step = absmax / 127;
                    assertThat((double) decoded[at]).as(codec.label() + " [" + row + "," + i + "]")
                            .isCloseTo(values[at], org.assertj.core.data.Offset.offset(step / 2 * (1 + 1e-5) + 1e-30));
                    assertThat((double) decoded[at]).isCloseTo(reference, org.assertj.core.data.Offset.offset(step * (1 + 1e-5) + 1e-30));
                }
            }
            for (int i = 2 * WIDTH; i < 3 * WIDTH; i++) {
                assertThat(decoded[i]).isZero();
            }
            assertThat(decoded[3 * WIDTH + 5]).isCloseTo(400f, org.assertj.core.data.Offset.offset(1e-3f));
        }
    }

    @Test
    void int8RefusesNonFiniteInputAndBadScalesOrBytes() {
        assertThatThrownBy(() -> ActivationCodec.encodePayload(new float[] {1f, Float.NaN}, 1, 2, Codec.INT8))
                .isInstanceOf(IllegalArgumentException.class);
        byte[] payload = ActivationCodec.encodePayload(new float[] {1f, -1f}, 1, 2, Codec.INT8);
        byte[] negativeScale = payload.clone();
        negativeScale[3] = (byte) 0xBF; // sign bit of the little-endian scale
        expect(WireError.BAD_VALUE, new Frame.Activations(0, 1, 2, Codec.INT8, negativeScale));
        byte[] minByte = payload.clone();
        minByte[5] = (byte) -128;
        expect(WireError.BAD_VALUE, new Frame.Activations(0, 1, 2, Codec.INT8, minByte));
    }

    @Test
    void zstdBombFailsWithoutGrowingABuffer() throws IOException {
        byte[] tenMegabytes = new byte[10 << 20];
        // With the content size in the zstd header: refused before decompressing.
        expect(WireError.DECOMPRESSION_FAILED, new Frame.Activations(0, 1, 64, Codec.FP32.withZstd(), Zstd.compress(tenMegabytes)));
        // Streamed, without a content size: decompression runs out of the 256-byte destination.
        ByteArrayOutputStream streamed = new ByteArrayOutputStream();
        try (ZstdOutputStream out = new ZstdOutputStream(streamed)) {
            out.write(tenMegabytes);
        }
        assertThat(Zstd.getFrameContentSize(streamed.toByteArray())).isNegative();
        expect(WireError.DECOMPRESSION_FAILED, new Frame.Activations(0, 1, 64, Codec.FP32.withZstd(), streamed.toByteArray()));
        // Too little is as wrong as too much.
        expect(WireError.DECOMPRESSION_FAILED, new Frame.Activations(0, 1, 64, Codec.FP32.withZstd(), Zstd.compress(new byte[255])));
        expect(WireError.DECOMPRESSION_FAILED, new Frame.Activations(0, 1, 64, Codec.FP32.withZstd(), new byte[] {1, 2, 3, 4, 5}));
    }

    @Test
    void decodeIntoReusesTheCallersArray() {
        float[] values = randomRows(new SplittableRandom(4), 2, 8, 1f);
        Frame.Activations frame = ActivationCodec.encode(3, values, 2, 8, Codec.FP32);
        float[] batch = new float[40];
        ActivationCodec.decodeInto(frame, batch, 16);
        assertThat(java.util.Arrays.copyOfRange(batch, 16, 32)).containsExactly(values);
        assertThatThrownBy(() -> ActivationCodec.decodeInto(frame, batch, 30)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ActivationCodec.encodePayload(values, 3, 8, Codec.FP32)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void compressionShrinksInt8Rows() {
        float[] values = randomRows(new SplittableRandom(5), 16, 512, 1f);
        int raw = ActivationCodec.encodePayload(values, 16, 512, Codec.INT8).length;
        assertThat(raw).isEqualTo(16 * (4 + 512));
        assertThat(ActivationCodec.encodePayload(values, 16, 512, Codec.FP16).length).isEqualTo(16 * 512 * 2);
    }

    private static float[] roundTrip(float[] values, Codec codec) {
        Frame.Activations frame = ActivationCodec.encode(0, values, POSITIONS, WIDTH, codec);
        Envelope decoded = new FrameDecoder().decode(FrameEncoder.encodeToArray(new Envelope(9, 9, frame)));
        return ActivationCodec.decode((Frame.Activations) decoded.frame());
    }

    private static float[] randomRows(SplittableRandom random, int positions, int width, float spread) {
        float[] values = new float[positions * width];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) (random.nextGaussian() * spread);
        }
        return values;
    }

    private static void expect(WireError kind, Frame.Activations activations) {
        assertThatThrownBy(() -> ActivationCodec.decode(activations))
                .isInstanceOfSatisfying(WireException.class, e -> assertThat(e.kind()).as(e.getMessage()).isEqualTo(kind));
    }
}
