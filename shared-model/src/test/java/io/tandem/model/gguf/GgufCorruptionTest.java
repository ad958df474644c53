package io.tandem.model.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.tandem.model.gguf.GgufException.Problem;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Broken files: every one must fail with a {@link GgufException} of the right kind whose message names
 * the file, the key or tensor at fault and the byte offset; none may fail any other way.
 */
class GgufCorruptionTest {

    @TempDir
    Path dir;

    /** Where the fields of {@link #sample()} sit, for tests that break one of them. */
    private int keyTypeAt;
    private int stringLengthAt;
    private int arrayLengthAt;
    private int alignmentValueAt;
    private int firstTensorDimsAt;
    private int firstTensorTypeAt;
    private int firstTensorOffsetAt;
    private int secondTensorTypeAt;
    private int dataAt;

    /**
     * A small valid file: four metadata entries (a string, an array, the alignment, a uint32) and two
     * tensors (F32 [4, 2] at 0, Q8_0 [32, 2] at 64), alignment 64.
     */
    private byte[] sample() {
        GgufBytes b = new GgufBytes().header(3, 2, 4);
        b.key("general.architecture", 8);
        keyTypeAt = b.mark() - 4;
        stringLengthAt = b.mark();
        b.str("llama");
        b.key("general.namex", 9).u32(5);
        arrayLengthAt = b.mark();
        b.u64(3).u32(1).u32(2).u32(3);
        b.key("general.alignment", 4);
        alignmentValueAt = b.mark();
        b.u32(64);
        b.key("llama.block_count", 4).u32(1);
        b.str("a.weight").u32(2);
        firstTensorDimsAt = b.mark();
        b.u64(4).u64(2);
        firstTensorTypeAt = b.mark();
        b.u32(0);
        firstTensorOffsetAt = b.mark();
        b.u64(0);
        b.str("b.weight").u32(2).u64(32).u64(2);
        secondTensorTypeAt = b.mark();
        b.u32(8).u64(64);
        b.padTo(64);
        dataAt = b.mark();
        for (int i = 0; i < 8; i++) {
            b.f32(i);
        }
        b.padTo(64);
        for (int block = 0; block < 2; block++) {
            b.u16(Float.floatToFloat16(0.5f));
            for (int j = 0; j < 32; j++) {
                b.u8(j);
            }
        }
        return b.bytes();
    }

    private Path write(byte[] bytes) throws IOException {
        Path file = Files.createTempFile(dir, "broken", ".gguf");
        Files.write(file, bytes);
        return file;
    }

    private GgufException openFails(byte[] bytes, Problem problem) throws IOException {
        Path file = write(bytes);
        GgufException e = catchThrowableOfType(GgufException.class, () -> GgufFile.open(file).close());
        assertThat(e).as("opening must fail with %s", problem).isNotNull();
        assertThat(e.problem()).as(e.getMessage()).isEqualTo(problem);
        assertThat(e.getMessage()).startsWith(file.toString());
        assertThat(e.source()).isEqualTo(file.toString());
        return e;
    }

    private static byte[] patch32(byte[] bytes, int at, int value) {
        byte[] copy = bytes.clone();
        ByteBuffer.wrap(copy).order(ByteOrder.LITTLE_ENDIAN).putInt(at, value);
        return copy;
    }

    private static byte[] patch64(byte[] bytes, int at, long value) {
        byte[] copy = bytes.clone();
        ByteBuffer.wrap(copy).order(ByteOrder.LITTLE_ENDIAN).putLong(at, value);
        return copy;
    }

    @Test
    void theSampleIsValid() throws IOException {
        try (GgufFile gguf = GgufFile.open(write(sample()))) {
            assertThat(gguf.alignment()).isEqualTo(64);
            assertThat(gguf.dataOffset()).isEqualTo(dataAt);
            assertThat(gguf.dequantize("a.weight")).containsExactly(0, 1, 2, 3, 4, 5, 6, 7);
            assertThat(gguf.dequantize("b.weight")[33]).isEqualTo(0.5f);
            assertThat(gguf.metadata().getIntArray("general.namex")).containsExactly(1, 2, 3);
        }
    }

    // ---------------------------------------------------------------- header

    @Test
    void badMagicIsNamed() throws IOException {
        byte[] bytes = sample();
        bytes[3] = 'L';
        assertThat(openFails(bytes, Problem.BAD_MAGIC).getMessage()).contains("47 47 55 4c").contains("\"GGUF\"");
        assertThat(openFails(new byte[] {'G', 'G'}, Problem.TRUNCATED).getMessage()).contains("2 bytes");
        assertThat(openFails(new byte[0], Problem.TRUNCATED).getMessage()).contains("0 bytes");
    }

    @Test
    void unsupportedVersionsAreNamed() throws IOException {
        assertThat(openFails(patch32(sample(), 4, 1), Problem.UNSUPPORTED_VERSION).getMessage()).contains("version 1");
        assertThat(openFails(patch32(sample(), 4, 4), Problem.UNSUPPORTED_VERSION).getMessage()).contains("version 4");
        assertThat(openFails(patch32(sample(), 4, 0x03000000), Problem.UNSUPPORTED_VERSION).getMessage()).contains("big-endian");
        byte[] v2 = patch32(sample(), 4, 2);
        try (GgufFile gguf = GgufFile.open(write(v2))) {
            assertThat(gguf.version()).isEqualTo(2);
        }
    }

    @Test
    void impossibleCountsAreRefused() throws IOException {
        assertThat(openFails(patch64(sample(), 8, Long.MAX_VALUE), Problem.MALFORMED).getMessage()).contains("tensor count");
        assertThat(openFails(patch64(sample(), 16, 1L << 40), Problem.MALFORMED).getMessage()).contains("metadata entry count");
    }

    // ---------------------------------------------------------------- metadata

    @Test
    void anUnknownValueTypeNamesTheKey() throws IOException {
        GgufException e = openFails(patch32(sample(), keyTypeAt, 13), Problem.MALFORMED);
        assertThat(e.getMessage()).contains("'general.architecture'").contains("value type 13").contains("at byte " + keyTypeAt);
    }

    @Test
    void aStringLongerThanTheFileNamesTheKey() throws IOException {
        GgufException e = openFails(patch64(sample(), stringLengthAt, 1L << 40), Problem.TRUNCATED);
        assertThat(e.getMessage()).contains("'general.architecture'").contains("at byte " + stringLengthAt);
        assertThat(openFails(patch64(sample(), stringLengthAt, -5), Problem.MALFORMED).getMessage()).contains("'general.architecture'");
    }

    @Test
    void anArrayLongerThanTheFileNamesTheKey() throws IOException {
        GgufException e = openFails(patch64(sample(), arrayLengthAt, 1000), Problem.TRUNCATED);
        assertThat(e.getMessage()).contains("'general.namex'").contains("array of 1000 INT32").contains("at byte " + arrayLengthAt);
        assertThat(openFails(patch64(sample(), arrayLengthAt, 1L << 62), Problem.MALFORMED).getMessage()).contains("'general.namex'");
    }

    @Test
    void aBadAlignmentIsRefused() throws IOException {
        GgufException e = openFails(patch32(sample(), alignmentValueAt, 48), Problem.MALFORMED);
        assertThat(e.getMessage()).contains("'general.alignment'").contains("48").contains("power of two");
        assertThat(openFails(patch32(sample(), alignmentValueAt, 0), Problem.MALFORMED).getMessage()).contains("'general.alignment'");
    }

    @Test
    void aDuplicateKeyIsRefused() throws IOException {
        GgufBytes b = new GgufBytes().header(3, 0, 2).key("general.name", 8).str("a").key("general.name", 8).str("b");
        GgufException e = openFails(b.bytes(), Problem.MALFORMED);
        assertThat(e.getMessage()).contains("'general.name'").contains("appears twice").contains("at byte 24");
    }

    @Test
    void deeplyNestedArraysAreRefused() throws IOException {
        GgufBytes b = new GgufBytes().header(3, 0, 1).key("nested", 9);
        for (int depth = 0; depth < 20; depth++) {
            b.u32(9).u64(1);
        }
        b.u32(4).u64(0);
        assertThat(openFails(b.bytes(), Problem.MALFORMED).getMessage()).contains("'nested'").contains("deep");
    }

    @Test
    void aBoolOtherThanZeroOrOneIsRefused() throws IOException {
        GgufBytes b = new GgufBytes().header(3, 0, 1).key("flag", 7).u8(2);
        assertThat(openFails(b.bytes(), Problem.MALFORMED).getMessage()).contains("'flag'").contains("bool byte 2");
    }

    // ---------------------------------------------------------------- tensors

    @Test
    void anUnknownTensorTypeNamesTheTensor() throws IOException {
        GgufException e = openFails(patch32(sample(), secondTensorTypeAt, 99), Problem.UNKNOWN_TENSOR_TYPE);
        assertThat(e.getMessage()).contains("tensor 'b.weight'").contains("type id 99").contains("at byte " + secondTensorTypeAt);
        // ids ggml retired (Q4_2) are unknown too
        assertThat(openFails(patch32(sample(), firstTensorTypeAt, 4), Problem.UNKNOWN_TENSOR_TYPE).getMessage())
                .contains("tensor 'a.weight'");
    }

    @Test
    void badShapesAndOffsetsNameTheTensor() throws IOException {
        assertThat(openFails(patch32(sample(), firstTensorDimsAt - 4, 5), Problem.MALFORMED).getMessage())
                .contains("tensor 'a.weight'").contains("5 dimensions");
        assertThat(openFails(patch64(sample(), firstTensorDimsAt, -1), Problem.MALFORMED).getMessage())
                .contains("tensor 'a.weight'").contains("dimension 0");
        assertThat(openFails(patch64(sample(), firstTensorOffsetAt, 8), Problem.MALFORMED).getMessage())
                .contains("tensor 'a.weight'").contains("offset 8").contains("alignment 64");
        // a Q8_0 row of 31 values is not a whole block
        byte[] q8 = patch32(sample(), firstTensorTypeAt, 8);
        assertThat(openFails(patch64(q8, firstTensorDimsAt, 31), Problem.MALFORMED).getMessage())
                .contains("tensor 'a.weight'").contains("block size 32");
        // a quantized tensor without dimensions is one value, not a whole block
        GgufBytes scalar = new GgufBytes().header(3, 1, 0).tensorInfo("s", new long[0], 8, 0).padTo(32).raw(new byte[34]);
        assertThat(openFails(scalar.bytes(), Problem.MALFORMED).getMessage()).contains("tensor 's'").contains("block size 32");
        // both tensors named a.weight
        byte[] dup = sample();
        int second = indexOf(dup, "b.weight".getBytes());
        dup[second] = 'a';
        assertThat(openFails(dup, Problem.MALFORMED).getMessage()).contains("tensor 'a.weight'").contains("twice");
    }

    @Test
    void truncationAnywhereFailsNamingWhatWasCut() throws IOException {
        byte[] bytes = sample();
        int end = bytes.length;
        for (int cut = 0; cut < end; cut++) {
            byte[] part = Arrays.copyOf(bytes, cut);
            Path file = write(part);
            GgufException e = catchThrowableOfType(GgufException.class, () -> GgufFile.open(file).close());
            assertThat(e).as("a file cut at byte %d must not open", cut).isNotNull();
            assertThat(e.problem()).as("cut at %d: %s", cut, e.getMessage()).isIn(Problem.TRUNCATED, Problem.MALFORMED);
            assertThat(e.getMessage()).as("cut at %d", cut).containsPattern("byte|bytes");
            if (cut >= dataAt) {
                String tensor = cut < dataAt + 32 ? "tensor 'a.weight'" : "tensor 'b.weight'";
                assertThat(e.getMessage()).as("cut at %d", cut).contains(tensor).contains("past the end");
            }
            Files.delete(file);
        }
    }

    @Test
    void aTruncatedRealModelNamesTheKeyOrTensor() throws IOException {
        byte[] bytes = Files.readAllBytes(GgufTestFiles.require(GgufTestFiles.TINY_RANDOM));
        // inside the 32000 tokens, which start soon after the general and llama.* keys
        GgufException tokens = openFails(Arrays.copyOf(bytes, 200_000), Problem.TRUNCATED);
        assertThat(tokens.getMessage()).contains("'tokenizer.ggml.tokens'").contains("ends at byte 200000");
        // inside output.weight, the last tensor
        GgufException data = openFails(Arrays.copyOf(bytes, bytes.length - 100), Problem.TRUNCATED);
        assertThat(data.getMessage()).contains("tensor 'output.weight'").contains("past the end of the file at byte " + (bytes.length - 100));
        Random random = new Random(5);
        for (int i = 0; i < 30; i++) {
            int cut = random.nextInt(bytes.length);
            Path file = write(Arrays.copyOf(bytes, cut));
            assertThatThrownBy(() -> GgufFile.open(file).close()).isInstanceOf(GgufException.class);
            Files.delete(file);
        }
    }

    @Test
    void dequantizingAnUnsupportedTypeNamesTheTensor() throws IOException {
        try (GgufFile gguf = GgufFile.open(write(patch32(sample(), secondTensorTypeAt, GgmlType.IQ4_NL.id())))) {
            GgufException e = catchThrowableOfType(GgufException.class, () -> gguf.dequantize("b.weight"));
            assertThat(e.problem()).isEqualTo(Problem.UNSUPPORTED);
            assertThat(e.getMessage()).contains("tensor 'b.weight'").contains("IQ4_NL");
            // its bytes are still there to read
            assertThat(gguf.tensorBytes(gguf.tensor("b.weight")).remaining()).isEqualTo(36);
        }
    }

    @Test
    void randomDamageNeverEscapesAsAnotherException() throws IOException {
        byte[] bytes = sample();
        Random random = new Random(11);
        int opened = 0;
        for (int trial = 0; trial < 3000; trial++) {
            byte[] damaged = bytes.clone();
            for (int flips = 1 + random.nextInt(3); flips > 0; flips--) {
                int at = random.nextInt(dataAt);
                damaged[at] = random.nextInt(4) == 0 ? (byte) 0xFF : (byte) random.nextInt(256);
            }
            Path file = dir.resolve("damaged.gguf");
            Files.write(file, damaged);
            try (GgufFile gguf = GgufFile.open(file)) {
                opened++;
                for (GgufTensorInfo t : gguf.tensors()) {
                    if (t.type().canDequantize() && t.elementCount() < 1 << 20) {
                        gguf.dequantize(t);
                    }
                }
                gguf.metadata().asMap().keySet().forEach(gguf.metadata()::get);
            } catch (GgufException expected) {
                assertThat(expected.getMessage()).startsWith(file.toString());
            }
        }
        assertThat(opened).as("some damage (e.g. inside a string) still opens").isPositive();
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i <= haystack.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
