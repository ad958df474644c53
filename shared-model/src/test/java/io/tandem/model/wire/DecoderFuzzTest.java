package io.tandem.model.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Random and mutated frames: the decoder (and the activation codec behind it) may refuse them
 * only with {@link WireException}, never with anything else, and never hang.
 */
class DecoderFuzzTest {

    private static final int FRAMES = 200_000;
    /** Small limits so that a mutated length can ask for a lot and must be refused cheaply. */
    private static final WireLimits LIMITS = new WireLimits(1 << 16, 256, 1024, 256);

    @Test
    @Timeout(value = 10, unit = TimeUnit.SECONDS)
    void onlyTypedErrorsComeOut() {
        SplittableRandom random = new SplittableRandom(0x7A4D3E);
        FrameDecoder decoder = new FrameDecoder(LIMITS);
        List<byte[]> seeds = new ArrayList<>();
        seeds.addAll(WireGoldens.encoded().values());
        for (Envelope golden : WireGoldens.all().values()) {
            seeds.add(FrameEncoder.encodeToArray(golden)); // version 1 frames in version 2 as well
        }
        Map<WireError, Integer> refusals = new EnumMap<>(WireError.class);
        int accepted = 0;
        long start = System.nanoTime();
        for (int n = 0; n < FRAMES; n++) {
            byte[] input = mutate(seeds.get(random.nextInt(seeds.size())), random);
            try {
                Envelope envelope = decoder.decode(input);
                if (envelope.frame() instanceof Frame.Activations activations) {
                    ActivationCodec.decode(activations);
                }
                accepted++;
            } catch (WireException expected) {
                refusals.merge(expected.kind(), 1, Integer::sum);
            } catch (Throwable unexpected) {
                fail("frame " + n + " threw " + unexpected + "\n" + WireGoldens.hex(input), unexpected);
            }
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        System.out.printf("wire fuzz: %d frames in %d ms, %d accepted, refused %s%n", FRAMES, millis, accepted, refusals);
        // The mutations reach every kind of refusal, so the run exercises every check.
        assertThat(refusals.keySet()).containsExactlyInAnyOrder(WireError.values());
        assertThat(accepted).isPositive();
    }

    private static byte[] mutate(byte[] seed, SplittableRandom random) {
        byte[] bytes = seed.clone();
        switch (random.nextInt(8)) {
            case 0 -> { // bit flips
                int flips = 1 + random.nextInt(8);
                for (int i = 0; i < flips; i++) {
                    int bit = random.nextInt(bytes.length * 8);
                    bytes[bit >>> 3] ^= (byte) (1 << (bit & 7));
                }
            }
            case 1 -> bytes = Arrays.copyOf(bytes, random.nextInt(bytes.length)); // truncation
            case 2 -> { // the body length changed
                ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(WireFormat.BODY_LENGTH_OFFSET, interestingInt(random));
            }
            case 3 -> { // a length, count or shape field inside the body changed
                if (bytes.length >= WireFormat.HEADER_BYTES + 4) {
                    int at = WireFormat.HEADER_BYTES + random.nextInt(bytes.length - WireFormat.HEADER_BYTES - 3);
                    ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(at, interestingInt(random));
                }
            }
            case 4 -> { // random bytes appended, with the body length kept or made to agree
                byte[] extra = new byte[1 + random.nextInt(64)];
                random.nextBytes(extra);
                int oldLength = bytes.length;
                bytes = Arrays.copyOf(bytes, oldLength + extra.length);
                System.arraycopy(extra, 0, bytes, oldLength, extra.length);
                if (random.nextBoolean()) {
                    ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(WireFormat.BODY_LENGTH_OFFSET,
                            bytes.length - WireFormat.HEADER_BYTES);
                }
            }
            case 5 -> { // a valid header over a random body of the declared length
                byte[] body = new byte[random.nextInt(96)];
                random.nextBytes(body);
                bytes = Arrays.copyOf(bytes, WireFormat.HEADER_BYTES + body.length);
                System.arraycopy(body, 0, bytes, WireFormat.HEADER_BYTES, body.length);
                ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(WireFormat.BODY_LENGTH_OFFSET, body.length);
                bytes[5] = (byte) (1 + random.nextInt(12));
            }
            case 6 -> { // random bytes in the payload area, lengths untouched
                for (int i = WireFormat.HEADER_BYTES; i < bytes.length; i++) {
                    if (random.nextInt(4) == 0) {
                        bytes[i] = (byte) random.nextInt(256);
                    }
                }
            }
            default -> { // entirely random, sometimes too big
                bytes = new byte[random.nextInt(10) == 0 ? LIMITS.maxFrameBytes() + 1 : random.nextInt(128)];
                random.nextBytes(bytes);
                if (bytes.length >= 4 && random.nextBoolean()) {
                    System.arraycopy(WireFormat.MAGIC, 0, bytes, 0, 4);
                }
            }
        }
        return bytes;
    }

    private static int interestingInt(SplittableRandom random) {
        return switch (random.nextInt(6)) {
            case 0 -> -1;
            case 1 -> Integer.MAX_VALUE;
            case 2 -> Integer.MIN_VALUE;
            case 3 -> random.nextInt(16);
            case 4 -> random.nextInt(1 << 20);
            default -> random.nextInt();
        };
    }
}
