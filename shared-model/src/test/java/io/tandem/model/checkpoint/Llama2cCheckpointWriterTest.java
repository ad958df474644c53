package io.tandem.model.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tandem.model.llama.LlamaConfig;
import io.tandem.model.llama.LlamaWeights;
import io.tandem.model.llama.RandomWeights;
import io.tandem.model.llama.RopeLayout;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Llama2cCheckpointWriterTest {

    @TempDir
    Path dir;

    @Test
    void rewritingTheEmbeddedModelReproducesItsBytes() throws IOException {
        Path file = dir.resolve("copy.bin");
        Llama2cCheckpointWriter.write(Llama2cCheckpointReader.embedded().weights(), file);
        byte[] original;
        try (InputStream in = getClass().getResourceAsStream(Llama2cCheckpointReader.EMBEDDED_RESOURCE)) {
            original = in.readAllBytes();
        }
        byte[] written = Files.readAllBytes(file);
        assertThat(written.length).isEqualTo(original.length);
        // the legacy rotary tables are written as zeros; everything else is byte for byte the same
        int tablesStart = 28 + 4 * (512 * 64 + 5 * (64 + 64 * 64 * 2 + 32 * 64 * 2 + 64 + 172 * 64 * 3) + 64);
        int tablesLength = 512 * 4 * 2 * 4;
        assertThat(java.util.Arrays.copyOfRange(written, 0, tablesStart))
                .isEqualTo(java.util.Arrays.copyOfRange(original, 0, tablesStart));
        assertThat(tablesStart + tablesLength).isEqualTo(original.length);
    }

    @Test
    void randomModelsRoundTripWithSeparateClassifiers() throws IOException {
        LlamaConfig config = new LlamaConfig("llama", 32, 48, 2, 4, 2, 40, 16, 1e-5f, 10000f,
                RopeLayout.ADJACENT_PAIRS, false, false);
        LlamaWeights weights = RandomWeights.create(config, 9);
        Path file = dir.resolve("random.bin");
        Llama2cCheckpointWriter.write(weights, file);
        LlamaWeights read = Llama2cCheckpointReader.read(file).weights();
        assertThat(read.config()).isEqualTo(config);
        assertThat(read.classifier().data()).isEqualTo(weights.classifier().data());
        assertThat(read.layers().get(1).w2Down().data()).isEqualTo(weights.layers().get(1).w2Down().data());
    }

    @Test
    void refusesWhatV0CannotSay() {
        LlamaConfig qwen = new LlamaConfig("qwen2", 32, 48, 1, 4, 2, 40, 16, 1e-6f, 1e6f, RopeLayout.HALVES, true, true);
        assertThatThrownBy(() -> Llama2cCheckpointWriter.write(RandomWeights.create(qwen, 1), dir.resolve("q.bin")))
                .hasMessageContaining("cannot hold qwen2");
        assertThat(dir.resolve("q.bin")).doesNotExist();
    }
}
