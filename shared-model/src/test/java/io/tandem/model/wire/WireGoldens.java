package io.tandem.model.wire;

import io.tandem.model.generate.FinishReason;
import io.tandem.model.sampling.SamplingParams;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The frames behind the golden files in src/test/resources/io/tandem/model/wire, by file name.
 * The README there describes each; {@link GoldenFilesTest} checks files and this list agree.
 */
final class WireGoldens {

    static final String RESOURCE_DIR = "/io/tandem/model/wire/";
    static final long SESSION = 0x0102030405060708L;
    static final String HASH = "sha256:5f1c0a";
    static final int POSITIONS = 2;
    static final int WIDTH = 4;
    static final int START_POSITION = 7;

    /** 2 positions x 4 wide; all exactly representable in fp16, absmax 2 and 0.5 per row. */
    static final float[] ACTIVATIONS = {1.0f, -2.0f, 0.5f, 0.0f, 0.25f, -0.125f, 0.5f, -0.5f};

    static final String DECODING_SCHEMA = "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"}},\"required\":[\"a\"]}";

    private WireGoldens() {}

    /** File name (without .bin) to the envelope it holds. Insertion order is the README's order. */
    static Map<String, Envelope> all() {
        Map<String, Envelope> goldens = new LinkedHashMap<>();
        goldens.put("open-split", new Envelope(SESSION, 0, new Frame.Open(HASH, Mode.split(2),
                new SamplingParams(0.75f, 0.9f, 40, OptionalLong.of(42)), 256)));
        goldens.put("open-full", new Envelope(SESSION, 0, new Frame.Open(HASH, Mode.FULL, SamplingParams.greedy(), 16)));
        goldens.put("opened", new Envelope(SESSION, 0, new Frame.Opened(2, 5, HASH)));
        for (ActivationDtype dtype : ActivationDtype.values()) {
            for (Compression compression : Compression.values()) {
                Codec codec = new Codec(dtype, compression);
                goldens.put("activations-" + codec.label().replace('+', '-'), new Envelope(SESSION, 1,
                        ActivationCodec.encode(START_POSITION, ACTIVATIONS, POSITIONS, WIDTH, codec)));
            }
        }
        goldens.put("tokens", new Envelope(SESSION, 1, new Frame.Tokens(0, new int[] {1, 403, 407, 261})));
        goldens.put("token", new Envelope(SESSION, 2, new Frame.Token(365, -0.25f)));
        goldens.put("token-finish", new Envelope(SESSION, 3, new Frame.Token(2, -1.5f, Optional.of(FinishReason.END_OF_SEQUENCE))));
        goldens.put("token-timed", new Envelope(SESSION, 4, new Frame.Token(7, -3.0f, Optional.empty(), 1250)));
        goldens.put("load", new Envelope(0, 9, new Frame.Load(3, 12, 4.5f)));
        goldens.put("decoding-schema", new Envelope(SESSION, 1, new Frame.Decoding(
                new io.tandem.model.sampling.LogitRules(Map.of(5, -100f, 300, 2.5f), 0.5f, 0.25f),
                Optional.of(io.tandem.model.constrain.OutputConstraint.jsonSchema(DECODING_SCHEMA)), new int[] {12, 34})));
        goldens.put("decoding-object", new Envelope(SESSION, 1, new Frame.Decoding(io.tandem.model.sampling.LogitRules.NONE,
                Optional.of(io.tandem.model.constrain.OutputConstraint.jsonObject()), new int[0])));
        goldens.put("cancel", new Envelope(SESSION, 4, new Frame.Cancel()));
        goldens.put("error", new Envelope(SESSION, 5, new Frame.Error(4005, "bad value: é")));
        goldens.put("close", new Envelope(SESSION, 6, new Frame.Close()));
        // version 2
        goldens.put("open-stream", new Envelope(SESSION, 0, new Frame.Open(HASH, Mode.FULL, SamplingParams.greedy(), 200,
                Delivery.STREAM, 16, new int[] {1, 2})));
        goldens.put("open-verify", new Envelope(SESSION, 0, new Frame.Open(HASH, Mode.split(2),
                new SamplingParams(0.75f, 0.9f, 40, OptionalLong.of(42)), 256, Delivery.VERIFY, 0, new int[] {1})));
        goldens.put("credit", new Envelope(SESSION, 7, new Frame.Credit(8)));
        goldens.put("draft", new Envelope(SESSION, 2, new Frame.Draft(12, new int[] {365, 7, 9, 11})));
        goldens.put("draft-sampled", new Envelope(SESSION, 2, new Frame.Draft(12, new int[] {3, 1, 2}, 4,
                new float[] {0.25f, 0.5f, 0.125f, 0.125f, 0f, 0.25f, 0.75f, 0f})));
        goldens.put("verified", new Envelope(SESSION, 3, new Frame.Verified(2, 42, -0.5f, Optional.empty(), 1250)));
        goldens.put("verified-finish", new Envelope(SESSION, 4, new Frame.Verified(0, 2, -2.0f,
                Optional.of(FinishReason.END_OF_SEQUENCE), 900)));
        return goldens;
    }

    /** Goldens written in version 1: every frame that version has, so that a version 1 peer stays understood. */
    static final java.util.Set<String> VERSION_1 = java.util.Set.of("open-split", "open-full", "opened",
            "activations-fp32", "activations-fp32-zstd", "activations-fp16", "activations-fp16-zstd", "activations-int8",
            "activations-int8-zstd", "tokens", "token", "token-finish", "token-timed", "load", "cancel", "error", "close",
            "decoding-schema", "decoding-object");

    static int version(String name) {
        return VERSION_1.contains(name) ? 1 : 2;
    }

    /** Each golden encoded in its own version. */
    static Map<String, byte[]> encoded() {
        Map<String, byte[]> out = new LinkedHashMap<>();
        all().forEach((name, envelope) -> out.put(name, FrameEncoder.encodeToArray(envelope, version(name))));
        return out;
    }

    static String hex(byte[] bytes) {
        StringBuilder out = new StringBuilder(bytes.length * 3);
        for (int i = 0; i < bytes.length; i++) {
            if (i > 0) {
                out.append(i % 16 == 0 ? '\n' : ' ');
            }
            out.append(String.format("%02x", bytes[i]));
        }
        return out.toString();
    }

    static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
