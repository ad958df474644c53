package io.tandem.model.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tandem.model.generate.FinishReason;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The golden files are the contract with other implementations and with the services' tests:
 * each must decode to the frame {@link WireGoldens} names and re-encode to the same bytes.
 *
 * <p>To rewrite them after a deliberate format change, run this test with
 * {@code -Dtandem.wire.writeGoldens=shared-model/src/test/resources/io/tandem/model/wire} (and
 * bump {@link WireFormat#VERSION}).
 */
class GoldenFilesTest {

    private final FrameDecoder decoder = new FrameDecoder();

    @Test
    void everyGoldenFileDecodesToItsFrameAndReencodesToTheSameBytes() throws IOException {
        String writeTo = System.getProperty("tandem.wire.writeGoldens");
        if (writeTo != null) {
            for (Map.Entry<String, Envelope> golden : WireGoldens.all().entrySet()) {
                Files.write(Path.of(writeTo, golden.getKey() + ".bin"),
                        FrameEncoder.encodeToArray(golden.getValue(), WireGoldens.version(golden.getKey())));
            }
        }
        for (Map.Entry<String, Envelope> golden : WireGoldens.all().entrySet()) {
            byte[] bytes = read(golden.getKey() + ".bin");
            Envelope decoded = decoder.decode(bytes);
            assertThat(decoded).as(golden.getKey()).isEqualTo(golden.getValue());
            assertThat(WireFormat.versionOf(bytes)).as(golden.getKey()).isEqualTo(WireGoldens.version(golden.getKey()));
            assertThat(FrameEncoder.encodeToArray(decoded, WireFormat.versionOf(bytes))).as(golden.getKey()).isEqualTo(bytes);
        }
    }

    @Test
    void goldenFieldsReadAsTheReadmeSays() throws IOException {
        Envelope open = decoder.decode(read("open-split.bin"));
        assertThat(open.sessionId()).isEqualTo(0x0102030405060708L);
        Frame.Open body = (Frame.Open) open.frame();
        assertThat(body.mode()).isEqualTo(new Mode.Split(2));
        assertThat(body.sampling().temperature()).isEqualTo(0.75f);
        assertThat(body.sampling().seed()).hasValue(42);
        assertThat(body.maxTokens()).isEqualTo(256);

        byte[] token = read("token-finish.bin");
        // The header is fixed: body length at offset 24, the finish reason last.
        assertThat(token).hasSize(WireFormat.HEADER_BYTES + 9);
        assertThat(token[24]).isEqualTo((byte) 9);
        assertThat(((Frame.Token) decoder.decode(token).frame()).finishReason()).isEqualTo(Optional.of(FinishReason.END_OF_SEQUENCE));

        assertThat(((Frame.Error) decoder.decode(read("error.bin")).frame()).message()).isEqualTo("bad value: é");

        byte[] decoding = read("decoding-schema.bin");
        assertThat(decoding[5]).as("frame type").isEqualTo((byte) 32);
        assertThat(decoding[28]).as("Decoding body version").isEqualTo((byte) 1);
        Frame.Decoding d = (Frame.Decoding) decoder.decode(decoding).frame();
        assertThat(d.rules().bias()).containsEntry(5, -100f).containsEntry(300, 2.5f);
        assertThat(d.constraint().orElseThrow().schema()).isEqualTo(WireGoldens.DECODING_SCHEMA);
        assertThat(d.replay()).containsExactly(12, 34);
        byte[] future = decoding.clone();
        future[28] = 2;
        assertThatThrownBy(() -> decoder.decode(future)).isInstanceOfSatisfying(WireException.class,
                e -> assertThat(e.kind()).isEqualTo(WireError.BAD_VALUE));
    }

    @Test
    void goldenActivationsDecodeToTheSourceValues() throws IOException {
        for (ActivationDtype dtype : ActivationDtype.values()) {
            for (Compression compression : Compression.values()) {
                Codec codec = new Codec(dtype, compression);
                String name = "activations-" + codec.label().replace('+', '-') + ".bin";
                Frame.Activations activations = (Frame.Activations) decoder.decode(read(name)).frame();
                assertThat(activations.codec()).isEqualTo(codec);
                assertThat(activations.startPosition()).isEqualTo(WireGoldens.START_POSITION);
                float[] values = ActivationCodec.decode(activations);
                // fp32 and fp16 are exact for these values; int8 is within half a step of each row's scale.
                float tolerance = dtype == ActivationDtype.INT8 ? 2.0f / 254 : 0f;
                for (int i = 0; i < values.length; i++) {
                    assertThat(values[i]).as(name + "[" + i + "]").isCloseTo(WireGoldens.ACTIVATIONS[i],
                            org.assertj.core.data.Offset.offset(tolerance));
                }
            }
        }
    }

    /** The README states the Open body's fixed part after the string; the decoder and the goldens decide it. */
    @Test
    void theReadmeStatesTheOpenBodyTheDecoderReads() throws IOException {
        String readme = new String(read("README.md"), java.nio.charset.StandardCharsets.UTF_8);
        java.util.regex.Matcher stated = java.util.regex.Pattern.compile("(\\d+) bytes after the string").matcher(readme);
        assertThat(stated.find()).as("the README states the bytes after the manifest hash").isTrue();
        byte[] open = read("open-full.bin");
        int bodyLength = java.nio.ByteBuffer.wrap(open, 24, 4).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt();
        int hashLength = java.nio.ByteBuffer.wrap(open, 28, 2).order(java.nio.ByteOrder.LITTLE_ENDIAN).getShort();
        int afterString = bodyLength - 2 - hashLength;
        assertThat(Integer.parseInt(stated.group(1))).isEqualTo(afterString).isEqualTo(30);
        Envelope decoded = new FrameDecoder().decode(open);
        assertThat(decoded.frame()).isInstanceOf(Frame.Open.class);
    }

    private static byte[] read(String name) throws IOException {
        try (InputStream in = GoldenFilesTest.class.getResourceAsStream(WireGoldens.RESOURCE_DIR + name)) {
            assertThat(in).as("golden file " + name).isNotNull();
            return in.readAllBytes();
        }
    }
}
