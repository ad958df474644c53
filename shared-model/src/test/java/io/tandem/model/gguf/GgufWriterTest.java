package io.tandem.model.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The writer, checked byte for byte against the format and by reading its files back. */
class GgufWriterTest {

    @TempDir
    Path dir;

    /** One value of every type, edge values included, and arrays of every element type, nested too. */
    private static Map<String, GgufValue> everyType() {
        Map<String, GgufValue> values = new LinkedHashMap<>();
        values.put("t.uint8", GgufValue.uint8(255));
        values.put("t.int8", GgufValue.int8(-128));
        values.put("t.uint16", GgufValue.uint16(65535));
        values.put("t.int16", GgufValue.int16(-32768));
        values.put("t.uint32", GgufValue.uint32(0xFFFF_FFFFL));
        values.put("t.int32", GgufValue.int32(Integer.MIN_VALUE));
        values.put("t.uint64", GgufValue.uint64(-1L));
        values.put("t.int64", GgufValue.int64(Long.MIN_VALUE));
        values.put("t.float32", GgufValue.float32(-1.5e-3f));
        values.put("t.float64", GgufValue.float64(Math.PI));
        values.put("t.nan", GgufValue.float32(Float.NaN));
        values.put("t.bool", GgufValue.bool(true));
        values.put("t.string", GgufValue.string("llama 🦙 ▁Ġ"));
        values.put("t.empty", GgufValue.string(""));
        values.put("a.uint8", new GgufValue.IntArray(GgufValueType.UINT8, new long[] {0, 1, 255}));
        values.put("a.int8", new GgufValue.IntArray(GgufValueType.INT8, new long[] {-128, 127}));
        values.put("a.uint16", new GgufValue.IntArray(GgufValueType.UINT16, new long[] {65535}));
        values.put("a.int16", new GgufValue.IntArray(GgufValueType.INT16, new long[] {-1, 2}));
        values.put("a.uint32", new GgufValue.IntArray(GgufValueType.UINT32, new long[] {4_000_000_000L}));
        values.put("a.int32", GgufValue.int32s(1, -2, 3));
        values.put("a.uint64", new GgufValue.IntArray(GgufValueType.UINT64, new long[] {Long.MIN_VALUE}));
        values.put("a.int64", new GgufValue.IntArray(GgufValueType.INT64, new long[] {Long.MAX_VALUE}));
        values.put("a.float32", GgufValue.float32s(0.25f, -7f));
        values.put("a.float64", new GgufValue.Float64Array(new double[] {1e300, -0.0}));
        values.put("a.bool", new GgufValue.BoolArray(new boolean[] {true, false, true}));
        values.put("a.string", GgufValue.strings(List.of("a", "", "中文")));
        values.put("a.empty", new GgufValue.IntArray(GgufValueType.INT32, new long[0]));
        values.put("a.nested", new GgufValue.NestedArray(List.of(GgufValue.int32s(1, 2), GgufValue.strings(List.of("x")),
                new GgufValue.NestedArray(List.of(GgufValue.float32s(3f))))));
        return values;
    }

    @Test
    void metadataOfEveryTypeRoundTrips() throws IOException {
        GgufWriter writer = new GgufWriter();
        everyType().forEach(writer::put);
        Path file = dir.resolve("meta.gguf");
        writer.write(file);
        try (GgufFile gguf = GgufFile.open(file)) {
            assertThat(gguf.version()).isEqualTo(3);
            assertThat(gguf.tensors()).isEmpty();
            assertThat(gguf.metadata().asMap()).containsExactlyEntriesOf(everyType());
            assertThat(gguf.metadata().getLong("t.uint32")).isEqualTo(0xFFFF_FFFFL);
            assertThatThrownBy(() -> gguf.metadata().getLong("t.uint64")).hasMessageContaining("18446744073709551615");
        }
        assertThat(Files.exists(dir.resolve("meta.gguf.part"))).isFalse();
    }

    @Test
    void layoutMatchesTheFormatByteForByte() throws IOException {
        float[] a = {1f, -2f, 3.5f, 0f};
        float[] q = new float[32];
        for (int j = 0; j < 32; j++) {
            q[j] = j - 16;
        }
        Path file = dir.resolve("layout.gguf");
        new GgufWriter().alignment(64).putString("general.architecture", "llama").putUInt32("llama.block_count", 1)
                .addTensor("a", GgmlType.F32, new long[] {4}, a)
                .addTensor("q", GgmlType.Q8_0, new long[] {32, 1}, q)
                .write(file);

        // Q8_0 of -16..15: amax 16, d = 16/127, q = roundf(x * 127/16)
        ByteBuffer qBlock = ByteBuffer.allocate(34).order(ByteOrder.LITTLE_ENDIAN);
        float d = 16f / 127;
        qBlock.putShort(Float.floatToFloat16(d));
        float id = 1f / d;
        for (int j = 0; j < 32; j++) {
            // C's roundf: halves away from zero, which BigDecimal calls HALF_UP
            qBlock.put(new java.math.BigDecimal(q[j] * id).setScale(0, java.math.RoundingMode.HALF_UP).byteValueExact());
        }
        GgufBytes expected = new GgufBytes().header(3, 2, 3)
                .key("general.alignment", 4).u32(64)
                .key("general.architecture", 8).str("llama")
                .key("llama.block_count", 4).u32(1)
                .tensorInfo("a", new long[] {4}, 0, 0)
                .tensorInfo("q", new long[] {32, 1}, 8, 64)
                .padTo(64);
        for (float v : a) {
            expected.f32(v);
        }
        expected.padTo(64).raw(qBlock.array()).padTo(64);
        assertThat(Files.readAllBytes(file)).isEqualTo(expected.bytes());
    }

    @Test
    void tensorsRoundTripInEveryWrittenType() throws IOException {
        Random random = new Random(3);
        float[] values = new float[64 * 6];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) random.nextGaussian();
        }
        byte[] q4k = new byte[144 * 2];
        random.nextBytes(q4k);
        for (int b = 0; b < 2; b++) {
            // keep the two scales finite: small positive fp16 values
            ByteBuffer.wrap(q4k).order(ByteOrder.LITTLE_ENDIAN).putShort(144 * b, Float.floatToFloat16(0.01f))
                    .putShort(144 * b + 2, Float.floatToFloat16(0.02f));
        }
        long[] dims = {64, 6};
        Path file = dir.resolve("tensors.gguf");
        new GgufWriter().alignment(128)
                .addTensor("f32", GgmlType.F32, dims, values)
                .addTensor("f16", GgmlType.F16, dims, values)
                .addTensor("q8", GgmlType.Q8_0, dims, values)
                .addTensor("q4", GgmlType.Q4_0, dims, values)
                .addTensor("q4k", GgmlType.Q4_K, new long[] {256, 2}, q4k)
                .write(file);
        try (GgufFile gguf = GgufFile.open(file)) {
            assertThat(gguf.alignment()).isEqualTo(128);
            assertThat(gguf.dataOffset() % 128).isZero();
            long expectedOffset = 0;
            for (GgufTensorInfo t : gguf.tensors()) {
                assertThat(t.offset()).as(t.name()).isEqualTo(expectedOffset);
                expectedOffset = GgufParser.alignUp(expectedOffset + t.byteSize(), 128);
            }
            assertThat(Files.size(file)).isEqualTo(gguf.dataOffset() + expectedOffset);

            assertThat(gguf.dequantize("f32")).containsExactly(values);
            float[] f16 = gguf.dequantize("f16");
            for (int i = 0; i < values.length; i++) {
                assertThat(f16[i]).isEqualTo(Float.float16ToFloat(Float.floatToFloat16(values[i])));
            }
            for (String name : List.of("q8", "q4")) {
                GgufTensorInfo t = gguf.tensor(name);
                ByteBuffer expected = ByteBuffer.allocate((int) t.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
                if (name.equals("q8")) {
                    GgmlQuants.quantizeQ8_0(values, 0, values.length, expected);
                } else {
                    GgmlQuants.quantizeQ4_0(values, 0, values.length, expected);
                }
                assertThat(gguf.tensorBytes(t)).isEqualTo(expected.flip());
                float[] back = gguf.dequantize(t);
                for (int i = 0; i < values.length; i++) {
                    assertThat(back[i]).isCloseTo(values[i], org.assertj.core.data.Offset.offset(name.equals("q8") ? 0.05f : 0.6f));
                }
            }
            ByteBuffer raw = gguf.tensorBytes(gguf.tensor("q4k"));
            byte[] readBack = new byte[raw.remaining()];
            raw.get(readBack);
            assertThat(readBack).isEqualTo(q4k);
            float[] k = gguf.dequantize("q4k");
            float[] direct = new float[512];
            GgmlQuants.dequantize(GgmlType.Q4_K, ByteBuffer.wrap(q4k).order(ByteOrder.LITTLE_ENDIAN), 0, direct, 0, 512);
            assertThat(k).containsExactly(direct);
        }
    }

    @Test
    void badInputIsRefusedBeforeWriting() {
        GgufWriter writer = new GgufWriter().putString("k", "v");
        assertThatThrownBy(() -> writer.putString("k", "w")).hasMessageContaining("'k' is already set");
        assertThatThrownBy(() -> writer.put("general.alignment", GgufValue.uint32(64))).hasMessageContaining("alignment(int)");
        assertThatThrownBy(() -> writer.alignment(48)).hasMessageContaining("power of two");
        writer.addTensor("t", GgmlType.F32, new long[] {2}, new float[2]);
        assertThatThrownBy(() -> writer.addTensor("t", GgmlType.F32, new long[] {2}, new float[2])).hasMessageContaining("already added");
        assertThatThrownBy(() -> writer.addTensor("u", GgmlType.F32, new long[] {2, 2}, new float[3])).hasMessageContaining("4 values");
        assertThatThrownBy(() -> writer.addTensor("v", GgmlType.Q8_0, new long[] {16, 2}, new float[32])).hasMessageContaining("block size 32");
        assertThatThrownBy(() -> writer.addTensor("w", GgmlType.Q4_K, new long[] {256}, new float[256])).hasMessageContaining("Q4_K");
        assertThatThrownBy(() -> writer.addTensor("x", GgmlType.Q4_K, new long[] {256}, new byte[10])).hasMessageContaining("144 bytes");
        assertThatThrownBy(() -> GgufValue.uint8(256)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new GgufValue.IntArray(GgufValueType.INT8, new long[] {200})).hasMessageContaining("element 0");
    }
}
