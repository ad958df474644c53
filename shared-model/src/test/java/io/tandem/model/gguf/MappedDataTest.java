package io.tandem.model.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Files over 2 GiB are mapped as overlapping chunks; small chunk sizes let a small file exercise views
 * and dequantization that cross chunk starts, compared with a file mapped whole.
 */
class MappedDataTest {

    @TempDir
    Path dir;

    @Test
    void mappedWindowsCrossChunkBoundaries() throws IOException {
        float[] values = new float[32 * 10];
        for (int i = 0; i < values.length; i++) {
            values[i] = i * 0.5f;
        }
        Path file = dir.resolve("chunks.gguf");
        new GgufWriter().addTensor("a", GgmlType.F32, new long[] {3}, new float[] {1, 2, 3})
                .addTensor("b", GgmlType.F32, new long[] {32, 10}, values)
                .addTensor("c", GgmlType.Q8_0, new long[] {32, 10}, values)
                .write(file);
        // chunks start every 100 bytes and views are at most 150: rows cross chunk starts everywhere
        try (GgufFile small = GgufFile.open(file, 100, 150); GgufFile whole = GgufFile.open(file)) {
            assertThat(small.dequantize("b")).containsExactly(values);
            assertThat(small.dequantize("c")).containsExactly(whole.dequantize("c"));
            GgufTensorInfo b = small.tensor("b");
            assertThatThrownBy(() -> small.tensorBytes(b)).isInstanceOf(GgufException.class).hasMessageContaining("'b'");
            for (int from = 0; from + 150 <= b.byteSize(); from += 37) {
                assertThat(small.tensorBytes(b, from, 150)).isEqualTo(whole.tensorBytes(whole.tensor("b"), from, 150));
            }
        }
    }
}
