package io.tandem.model.gguf;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Dequantization and quantization against llama.cpp's own gguf-py (see the README beside the golden file):
 * blocks it quantized decode to exactly the floats it decodes them to, and for Q4_0 and Q8_0 our quantizer
 * writes the very bytes it wrote.
 */
class GgmlQuantsGoldenTest {

    static Path golden() throws URISyntaxException {
        return Path.of(GgmlQuantsGoldenTest.class.getResource("/io/tandem/model/gguf/ggml-quants-golden.gguf").toURI());
    }

    @ParameterizedTest
    @CsvSource({"q4_0,Q4_0", "q4_1,Q4_1", "q5_0,Q5_0", "q5_1,Q5_1", "q8_0,Q8_0"})
    void dequantizesAsGgufPyDoes(String name, GgmlType type) throws IOException, URISyntaxException {
        try (GgufFile file = GgufFile.open(golden())) {
            assertThat(file.tensor(name).type()).isEqualTo(type);
            assertThat(file.dequantize(name)).containsExactly(file.dequantize(name + ".expected"));
        }
    }

    @ParameterizedTest
    @CsvSource({"q4_0,Q4_0", "q8_0,Q8_0"})
    void quantizesToTheBytesGgufPyWrites(String name, GgmlType type) throws IOException, URISyntaxException {
        try (GgufFile file = GgufFile.open(golden())) {
            float[] source = file.dequantize(name + ".source");
            ByteBuffer ours = ByteBuffer.allocate((int) type.bytesFor(source.length)).order(ByteOrder.LITTLE_ENDIAN);
            if (type == GgmlType.Q4_0) {
                GgmlQuants.quantizeQ4_0(source, 0, source.length, ours);
            } else {
                GgmlQuants.quantizeQ8_0(source, 0, source.length, ours);
            }
            assertThat(ours.array()).isEqualTo(bytes(file.tensorBytes(file.tensor(name))));
        }
    }

    private static byte[] bytes(ByteBuffer buffer) {
        byte[] out = new byte[buffer.remaining()];
        buffer.duplicate().get(out);
        return out;
    }
}
