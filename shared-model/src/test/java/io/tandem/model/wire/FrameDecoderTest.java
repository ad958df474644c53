package io.tandem.model.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tandem.model.sampling.SamplingParams;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import org.junit.jupiter.api.Test;

class FrameDecoderTest {

    private final FrameDecoder decoder = new FrameDecoder();

    @Test
    void everyFrameTypeRoundTrips() {
        for (Map.Entry<String, Envelope> golden : WireGoldens.all().entrySet()) {
            ByteBuffer encoded = FrameEncoder.encode(golden.getValue());
            assertThat(encoded.remaining()).isEqualTo(FrameEncoder.encodedSize(golden.getValue()));
            assertThat(decoder.decode(encoded)).as(golden.getKey()).isEqualTo(golden.getValue());
            assertThat(encoded.position()).as("decode leaves the caller's buffer alone").isZero();
        }
    }

    @Test
    void encodesIntoADirectBigEndianBufferAtItsPosition() {
        Envelope envelope = new Envelope(-1L, Long.MAX_VALUE, new Frame.Tokens(9, new int[] {0, Integer.MAX_VALUE}));
        ByteBuffer direct = ByteBuffer.allocateDirect(100);
        direct.position(5);
        FrameEncoder.encode(envelope, direct);
        assertThat(direct.order()).isEqualTo(ByteOrder.BIG_ENDIAN);
        direct.flip().position(5);
        assertThat(decoder.decode(direct)).isEqualTo(envelope);
    }

    @Test
    void closeCodesAreOnePerKindInTheAllowedRanges() {
        Set<Integer> codes = new HashSet<>();
        for (WireError kind : WireError.values()) {
            int code = kind.closeCode();
            assertThat(code == 1002 || code == 1009 || (code >= 4000 && code <= 4999)).as(kind + " -> " + code).isTrue();
            assertThat(codes.add(code)).as("close code %d used twice", code).isTrue();
        }
        assertThat(WireError.BAD_MAGIC.closeCode()).isEqualTo(1002);
        assertThat(WireError.TOO_LARGE.closeCode()).isEqualTo(1009);
    }

    @Test
    void headerErrors() {
        byte[] cancel = FrameEncoder.encodeToArray(new Envelope(1, 1, new Frame.Cancel()));
        expect(WireError.BAD_MAGIC, with(cancel, 0, (byte) 'X'));
        expect(WireError.BAD_MAGIC, new byte[] {'T', 'N', 'D', 'X'});
        expect(WireError.TRUNCATED, new byte[0]);
        expect(WireError.TRUNCATED, Arrays.copyOf(cancel, WireFormat.HEADER_BYTES - 1));
        expect(WireError.UNSUPPORTED_VERSION, with(cancel, 4, (byte) 3));
        expect(WireError.UNSUPPORTED_VERSION, with(cancel, 4, (byte) 0));
        expect(WireError.UNKNOWN_TYPE, with(cancel, 5, (byte) 0));
        expect(WireError.UNKNOWN_TYPE, with(cancel, 5, (byte) 13));
        // types 10..12 came with version 2: in a version 1 frame they are unknown
        byte[] v1Cancel = FrameEncoder.encodeToArray(new Envelope(1, 1, new Frame.Cancel()), 1);
        expect(WireError.UNKNOWN_TYPE, with(v1Cancel, 5, (byte) 10));
        expect(WireError.BAD_VALUE, with(cancel, 6, (byte) 1));
        expect(WireError.BAD_VALUE, with(cancel, 7, (byte) 0x80));
        expect(WireError.BAD_VALUE, withInt(cancel, WireFormat.BODY_LENGTH_OFFSET, -1));
        expect(WireError.TRUNCATED, withInt(cancel, WireFormat.BODY_LENGTH_OFFSET, 1));
        expect(WireError.LENGTH_MISMATCH, Arrays.copyOf(cancel, cancel.length + 1));
    }

    @Test
    void bodyErrors() {
        Envelope token = WireGoldens.all().get("token");
        byte[] bytes = FrameEncoder.encodeToArray(token);
        int body = WireFormat.HEADER_BYTES;
        expect(WireError.BAD_VALUE, with(bytes, body + 8, (byte) 6)); // finish reason
        expect(WireError.BAD_VALUE, withInt(bytes, body, -1)); // token id
        expect(WireError.BAD_VALUE, withFloat(bytes, body + 4, Float.NaN)); // logprob
        expect(WireError.BAD_VALUE, withFloat(bytes, body + 4, 0.5f));
        // A shorter body that the header agrees with: the body parser runs out.
        byte[] shortBody = withInt(Arrays.copyOf(bytes, bytes.length - 1), WireFormat.BODY_LENGTH_OFFSET, 8);
        expect(WireError.TRUNCATED, shortBody);
        // A longer body that the header agrees with: bytes left after the Token body.
        byte[] longBody = withInt(Arrays.copyOf(bytes, bytes.length + 1), WireFormat.BODY_LENGTH_OFFSET, 10);
        expect(WireError.LENGTH_MISMATCH, longBody);
    }

    @Test
    void computeTimeFlagOnlyOnTokens() {
        byte[] timed = FrameEncoder.encodeToArray(WireGoldens.all().get("token-timed"));
        assertThat(timed[6]).isEqualTo((byte) WireFormat.FLAG_COMPUTE_TIME);
        int body = WireFormat.HEADER_BYTES;
        expect(WireError.BAD_VALUE, withInt(timed, body + 9, -1)); // negative compute time
        expect(WireError.BAD_VALUE, with(timed, 6, (byte) 0x03)); // an undefined flag beside it
        // The flag promises four more bytes: a timed token without them runs out.
        byte[] plain = FrameEncoder.encodeToArray(WireGoldens.all().get("token"));
        expect(WireError.TRUNCATED, with(plain, 6, (byte) WireFormat.FLAG_COMPUTE_TIME));
        // The flag means nothing on other frames.
        byte[] load = FrameEncoder.encodeToArray(WireGoldens.all().get("load"));
        expect(WireError.BAD_VALUE, with(load, 6, (byte) WireFormat.FLAG_COMPUTE_TIME));
    }

    @Test
    void loadValidation() {
        byte[] load = FrameEncoder.encodeToArray(WireGoldens.all().get("load"));
        int body = WireFormat.HEADER_BYTES;
        expect(WireError.BAD_VALUE, withInt(load, body, -1)); // queue depth
        expect(WireError.BAD_VALUE, withInt(load, body + 4, -1)); // sessions
        expect(WireError.BAD_VALUE, withFloat(load, body + 8, Float.NaN)); // step time
        expect(WireError.BAD_VALUE, withFloat(load, body + 8, -1f));
        expect(WireError.TRUNCATED, withInt(Arrays.copyOf(load, load.length - 4), WireFormat.BODY_LENGTH_OFFSET, 8));
    }

    @Test
    void openValidation() {
        Envelope open = WireGoldens.all().get("open-split");
        byte[] bytes = FrameEncoder.encodeToArray(open);
        int mode = WireFormat.HEADER_BYTES + 2 + WireGoldens.HASH.length();
        expect(WireError.BAD_VALUE, with(bytes, mode, (byte) 2)); // unknown mode
        expect(WireError.BAD_VALUE, withInt(bytes, mode + 1, 0)); // SPLIT(0)
        expect(WireError.BAD_VALUE, withFloat(bytes, mode + 5, Float.NaN)); // temperature
        expect(WireError.BAD_VALUE, withFloat(bytes, mode + 5, Float.POSITIVE_INFINITY));
        expect(WireError.BAD_VALUE, withFloat(bytes, mode + 9, 0f)); // top_p
        expect(WireError.BAD_VALUE, withInt(bytes, mode + 13, -1)); // top_k
        expect(WireError.BAD_VALUE, with(bytes, mode + 17, (byte) 2)); // seed presence
        expect(WireError.BAD_VALUE, withInt(bytes, mode + 26, 0)); // max tokens
        byte[] full = FrameEncoder.encodeToArray(WireGoldens.all().get("open-full"));
        expect(WireError.BAD_VALUE, withInt(full, mode + 1, 3)); // FULL with a split layer
        expect(WireError.BAD_VALUE, withInt(full, mode + 19, 1)); // seed bytes without a seed
        expect(WireError.BAD_VALUE, with(bytes, WireFormat.HEADER_BYTES + 2, (byte) 0xC3)); // broken UTF-8
        expect(WireError.BAD_VALUE, new Envelope(1, 1, new Frame.Open("x", Mode.FULL, SamplingParams.greedy(), 1)),
                b -> b[WireFormat.HEADER_BYTES + 2] = (byte) 0xFF);
        expect(WireError.TRUNCATED, withShort(bytes, WireFormat.HEADER_BYTES, 1000)); // string runs past the body
    }

    @Test
    void activationsValidation() {
        byte[] bytes = FrameEncoder.encodeToArray(WireGoldens.all().get("activations-fp32"));
        int body = WireFormat.HEADER_BYTES;
        expect(WireError.BAD_VALUE, withInt(bytes, body, -1)); // start position
        expect(WireError.BAD_VALUE, withInt(bytes, body + 4, 0)); // positions
        expect(WireError.BAD_VALUE, withInt(bytes, body + 8, -5)); // width
        expect(WireError.BAD_VALUE, with(bytes, body + 12, (byte) 4)); // dtype
        expect(WireError.BAD_VALUE, with(bytes, body + 13, (byte) 2)); // compression
        expect(WireError.BAD_VALUE, with(bytes, body + 14, (byte) 1)); // reserved
        expect(WireError.LENGTH_MISMATCH, withInt(bytes, body + 16, 31)); // payload length vs body
        expect(WireError.LENGTH_MISMATCH, withInt(bytes, body + 8, 3)); // shape vs payload
        expect(WireError.LENGTH_MISMATCH, with(bytes, body + 12, (byte) 2)); // fp16 needs half the bytes
        expect(WireError.TOO_LARGE, withInt(bytes, body + 4, WireLimits.DEFAULT.maxPositions() + 1));
        expect(WireError.TOO_LARGE, withInt(bytes, body + 8, WireLimits.DEFAULT.maxWidth() + 1));
    }

    @Test
    void tokensValidation() {
        byte[] bytes = FrameEncoder.encodeToArray(WireGoldens.all().get("tokens"));
        int body = WireFormat.HEADER_BYTES;
        expect(WireError.BAD_VALUE, withInt(bytes, body + 4, -1));
        expect(WireError.BAD_VALUE, withInt(bytes, body + 4, 0)); // no ids, then 16 stray bytes... refused as a value first
        expect(WireError.TRUNCATED, withInt(bytes, body + 4, 5));
        expect(WireError.LENGTH_MISMATCH, withInt(bytes, body + 4, 3));
        expect(WireError.TOO_LARGE, withInt(bytes, body + 4, Integer.MAX_VALUE));
        expect(WireError.BAD_VALUE, withInt(bytes, body + 8, -7)); // negative id
    }

    @Test
    void frameSizeLimitIsInclusive() {
        int payload = 64;
        Envelope envelope = new Envelope(1, 1, new Frame.Activations(0, 1, 16, Codec.FP32, new byte[payload]));
        int size = FrameEncoder.encodedSize(envelope);
        byte[] bytes = FrameEncoder.encodeToArray(envelope);
        assertThat(new FrameDecoder(new WireLimits(size, 16, 16, 16)).decode(bytes)).isEqualTo(envelope);
        expect(new FrameDecoder(new WireLimits(size - 1, 16, 16, 16)), WireError.TOO_LARGE, bytes);
    }

    @Test
    void shapeLimitsAreInclusive() {
        WireLimits limits = new WireLimits(1 << 20, 8, 32, 16);
        FrameDecoder strict = new FrameDecoder(limits);
        Envelope atMax = new Envelope(1, 1, ActivationCodec.encode(0, new float[8 * 32], 8, 32, Codec.FP16));
        assertThat(strict.decode(FrameEncoder.encodeToArray(atMax))).isEqualTo(atMax);
        expect(strict, WireError.TOO_LARGE, FrameEncoder.encodeToArray(
                new Envelope(1, 1, ActivationCodec.encode(0, new float[9 * 32], 9, 32, Codec.FP16))));
        expect(strict, WireError.TOO_LARGE, FrameEncoder.encodeToArray(
                new Envelope(1, 1, ActivationCodec.encode(0, new float[8 * 33], 8, 33, Codec.FP16))));
        assertThat(strict.decode(FrameEncoder.encodeToArray(new Envelope(1, 1, new Frame.Tokens(0, new int[8]))))).isNotNull();
        expect(strict, WireError.TOO_LARGE, FrameEncoder.encodeToArray(new Envelope(1, 1, new Frame.Tokens(0, new int[9]))));
        String sixteen = "0123456789abcdé"; // 16 UTF-8 bytes
        assertThat(WireGoldens.utf8(sixteen)).hasSize(16);
        assertThat(strict.decode(FrameEncoder.encodeToArray(new Envelope(1, 1, new Frame.Error(1, sixteen))))).isNotNull();
        expect(strict, WireError.TOO_LARGE, FrameEncoder.encodeToArray(new Envelope(1, 1, new Frame.Error(1, sixteen + "!"))));
    }

    @Test
    void compressedShapesAreBoundedByTheFrameLimitBeforeDecompression() {
        // 64 x 1024 fp32 is 256 KiB raw: more than a 64 KiB frame could carry uncompressed.
        Frame.Activations zeros = ActivationCodec.encode(0, new float[64 * 1024], 64, 1024, Codec.FP32.withZstd());
        byte[] bytes = FrameEncoder.encodeToArray(new Envelope(1, 1, zeros));
        assertThat(bytes.length).isLessThan(1024);
        expect(new FrameDecoder(new WireLimits(64 << 10, 4096, 4096, 64)), WireError.TOO_LARGE, bytes);
    }

    @Test
    void encoderRefusesWhatTheDecoderWouldReject() {
        assertThatThrownBy(() -> FrameEncoder.encodeToArray(new Envelope(1, 1, new Frame.Activations(0, 2, 2, Codec.FP32, new byte[15]))))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> FrameEncoder.encodeToArray(new Envelope(1, 1, new Frame.Error(1, "x".repeat(70_000)))))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new SamplingParams(Float.NaN, 1f, 0, OptionalLong.empty())).isInstanceOf(IllegalArgumentException.class);
    }

    private void expect(WireError kind, byte[] bytes) {
        expect(decoder, kind, bytes);
    }

    private void expect(WireError kind, Envelope envelope, java.util.function.Consumer<byte[]> corrupt) {
        byte[] bytes = FrameEncoder.encodeToArray(envelope);
        corrupt.accept(bytes);
        expect(kind, bytes);
    }

    private static void expect(FrameDecoder decoder, WireError kind, byte[] bytes) {
        assertThatThrownBy(() -> decoder.decode(bytes))
                .isInstanceOfSatisfying(WireException.class, e -> assertThat(e.kind()).as(e.getMessage()).isEqualTo(kind));
    }

    private static byte[] with(byte[] bytes, int offset, byte value) {
        byte[] copy = bytes.clone();
        copy[offset] = value;
        return copy;
    }

    private static byte[] withInt(byte[] bytes, int offset, int value) {
        byte[] copy = bytes.clone();
        ByteBuffer.wrap(copy).order(ByteOrder.LITTLE_ENDIAN).putInt(offset, value);
        return copy;
    }

    private static byte[] withShort(byte[] bytes, int offset, int value) {
        byte[] copy = bytes.clone();
        ByteBuffer.wrap(copy).order(ByteOrder.LITTLE_ENDIAN).putShort(offset, (short) value);
        return copy;
    }

    private static byte[] withFloat(byte[] bytes, int offset, float value) {
        return withInt(bytes, offset, Float.floatToRawIntBits(value));
    }

    @Test
    void aVersionOneBuildRefusesVersionTwoFramesWithACloseCodeThatSaysSo() {
        FrameDecoder versionOne = new FrameDecoder(WireLimits.DEFAULT, 1);
        byte[] stream = FrameEncoder.encodeToArray(WireGoldens.all().get("open-stream"));
        WireException refused = org.junit.jupiter.api.Assertions.assertThrows(WireException.class,
                () -> versionOne.decode(stream));
        assertThat(refused.kind()).isEqualTo(WireError.UNSUPPORTED_VERSION);
        assertThat(refused.closeCode()).isEqualTo(4001);
        assertThat(refused.getMessage()).isEqualTo("UNSUPPORTED_VERSION: version 2, this build speaks 1");
        // and version 1 frames still read as they always did
        assertThat(versionOne.decode(FrameEncoder.encodeToArray(WireGoldens.all().get("open-full"), 1)))
                .isEqualTo(WireGoldens.all().get("open-full"));
    }

    @Test
    void versionOneCannotCarryVersionTwoFramesOrOpenFields() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> FrameEncoder.encodeToArray(
                new Envelope(1, 1, new Frame.Credit(3)), 1)).hasMessage("CREDIT frames need version 2, not 1");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> FrameEncoder.encodeToArray(
                WireGoldens.all().get("open-stream"), 1)).hasMessageContaining("version 1 has no STREAM delivery");
        // a lockstep Open reads the same in both versions
        Envelope open = WireGoldens.all().get("open-split");
        assertThat(decoder.decode(FrameEncoder.encodeToArray(open, 2))).isEqualTo(open);
        assertThat(decoder.decode(FrameEncoder.encodeToArray(open, 1))).isEqualTo(open);
    }

    @Test
    void versionTwoValuesAreChecked() {
        byte[] credit = FrameEncoder.encodeToArray(WireGoldens.all().get("credit"));
        expect(WireError.BAD_VALUE, withInt(credit, WireFormat.HEADER_BYTES, 0));
        byte[] stream = FrameEncoder.encodeToArray(WireGoldens.all().get("open-stream"));
        int deliveryAt = stream.length - 2 * 4 - 2 - 4 - 1;
        expect(WireError.BAD_VALUE, with(stream, deliveryAt, (byte) 7)); // unknown delivery
        expect(WireError.BAD_VALUE, withInt(stream, deliveryAt + 1, 0)); // STREAM without credits
        byte[] sampled = FrameEncoder.encodeToArray(WireGoldens.all().get("draft-sampled"));
        // a probability above 1 (1.5f = 0x3fc00000) in the last q value
        expect(WireError.BAD_VALUE, withInt(sampled, sampled.length - 4, Float.floatToIntBits(1.5f)));
        // a vocabulary that the bytes present cannot hold
        int vocabAt = WireFormat.HEADER_BYTES + 4 + 4 + 3 * 4;
        expect(WireError.TRUNCATED, withInt(sampled, vocabAt, Integer.MAX_VALUE));
        byte[] verified = FrameEncoder.encodeToArray(WireGoldens.all().get("verified"));
        expect(WireError.BAD_VALUE, withInt(verified, WireFormat.HEADER_BYTES, -1));
        expect(WireError.BAD_VALUE, with(verified, verified.length - 5, (byte) 9)); // finish reason
    }
}
