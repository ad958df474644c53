package io.tandem.model.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Reading real GGUF files from ../shared/models. What the files must contain comes from their
 * LICENSE-NOTE.txt descriptions (llama arch, dim 8, one layer, 12 tensors: F16 matrices, F32 norms, the
 * 32000-token Llama 2 vocabulary) and from the format; tensor values are checked against bytes read
 * straight from the file and decoded by hand.
 */
class GgufFileTest {

    private static final List<String> TINY_TENSORS = List.of("token_embd.weight", "blk.0.attn_q.weight",
            "blk.0.attn_k.weight", "blk.0.attn_v.weight", "blk.0.attn_output.weight", "blk.0.ffn_gate.weight",
            "blk.0.ffn_up.weight", "blk.0.ffn_down.weight", "blk.0.attn_norm.weight", "blk.0.ffn_norm.weight",
            "output_norm.weight", "output.weight");

    @Test
    void tinyRandomLlamaHasTheDescribedMetadata() throws IOException {
        try (GgufFile gguf = GgufFile.open(GgufTestFiles.require(GgufTestFiles.TINY_RANDOM))) {
            assertThat(gguf.version()).isEqualTo(3);
            GgufMetadata m = gguf.metadata();
            assertThat(m.architecture()).isEqualTo("llama");
            assertThat(m.getInt("llama.embedding_length")).isEqualTo(8);
            assertThat(m.getInt("llama.block_count")).isEqualTo(1);
            assertThat(m.getInt("llama.attention.head_count")).isEqualTo(2);
            assertThat(m.getInt("llama.attention.head_count_kv")).isEqualTo(2);
            assertThat(m.getInt("llama.feed_forward_length")).isEqualTo(32);
            assertThat(m.getInt("llama.rope.dimension_count")).isEqualTo(4);
            assertThat(m.getLong("llama.context_length")).isEqualTo(4096);
            assertThat(m.getFloat("llama.attention.layer_norm_rms_epsilon")).isEqualTo(1e-5f);
            assertThat(m.get("llama.context_length").type()).isEqualTo(GgufValueType.UINT32);
            assertThat(m.getString("tokenizer.ggml.model")).isEqualTo("llama");
            List<String> tokens = m.getStringArray("tokenizer.ggml.tokens");
            assertThat(tokens).hasSize(32000);
            assertThat(tokens.subList(0, 4)).containsExactly("<unk>", "<s>", "</s>", "<0x00>");
            assertThat(m.getFloatArray("tokenizer.ggml.scores")).hasSize(32000);
            int[] types = m.getIntArray("tokenizer.ggml.token_type");
            assertThat(types).hasSize(32000).startsWith(2, 3, 3, 6);
            assertThat(m.getInt("tokenizer.ggml.bos_token_id")).isEqualTo(1);
            assertThat(m.getArray("tokenizer.ggml.token_type").elementType()).isEqualTo(GgufValueType.INT32);
            assertThat(m.keys()).startsWith("general.architecture", "general.name");
            assertThat(m.offsetOf("general.architecture")).isEqualTo(24);
            assertThat(gguf.alignment()).isEqualTo(32);
        }
    }

    @Test
    void tinyRandomLlamaListsTwelveTensors() throws IOException {
        try (GgufFile gguf = GgufFile.open(GgufTestFiles.require(GgufTestFiles.TINY_RANDOM))) {
            assertThat(gguf.tensors()).extracting(GgufTensorInfo::name).containsExactlyElementsOf(TINY_TENSORS);
            GgufTensorInfo embd = gguf.tensor("token_embd.weight");
            // ggml order: the row length (dim) first
            assertThat(embd.dims()).containsExactly(8, 32000);
            assertThat(embd.type()).isEqualTo(GgmlType.F16);
            assertThat(embd.offset()).isZero();
            assertThat(gguf.tensor("blk.0.ffn_down.weight").dims()).containsExactly(32, 8);
            assertThat(gguf.tensor("blk.0.ffn_gate.weight").dims()).containsExactly(8, 32);
            assertThat(gguf.tensor("output_norm.weight").type()).isEqualTo(GgmlType.F32);
            assertThat(gguf.tensor("output.weight").dims()).containsExactly(8, 32000);
            long previousEnd = 0;
            for (GgufTensorInfo t : gguf.tensors()) {
                assertThat(t.offset() % gguf.alignment()).isZero();
                assertThat(t.offset()).isGreaterThanOrEqualTo(previousEnd);
                previousEnd = t.offset() + t.byteSize();
            }
            assertThat(gguf.dataOffset() % 32).isZero();
            // the last tensor ends where the file does
            assertThat(gguf.dataOffset() + previousEnd).isEqualTo(gguf.path().toFile().length());
            assertThat(gguf.findTensor("blk.1.attn_q.weight")).isEmpty();
            assertThatThrownBy(() -> gguf.tensor("blk.1.attn_q.weight")).isInstanceOf(GgufException.class)
                    .hasMessageContaining("'blk.1.attn_q.weight'")
                    .satisfies(e -> assertThat(((GgufException) e).problem()).isEqualTo(GgufException.Problem.MISSING));
        }
    }

    @Test
    void tensorValuesMatchTheBytesInTheFile() throws IOException {
        Path path = GgufTestFiles.require(GgufTestFiles.TINY_RANDOM);
        try (GgufFile gguf = GgufFile.open(path); FileChannel raw = FileChannel.open(path)) {
            for (GgufTensorInfo t : gguf.tensors()) {
                float[] values = gguf.dequantize(t);
                assertThat(values).hasSize((int) t.elementCount());
                ByteBuffer bytes = ByteBuffer.allocate((int) t.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
                raw.read(bytes, gguf.dataOffset() + t.offset());
                boolean nonZero = false;
                for (int i = 0; i < values.length; i++) {
                    float expected = t.type() == GgmlType.F32 ? bytes.getFloat(4 * i) : halfByHand(bytes.getShort(2 * i));
                    assertThat(values[i]).as("%s[%d]", t.name(), i).isEqualTo(expected);
                    assertThat(Float.isFinite(values[i])).isTrue();
                    nonZero |= values[i] != 0f;
                }
                assertThat(nonZero).as("%s has non-zero values", t.name()).isTrue();
                assertThat(gguf.tensorBytes(t).remaining()).isEqualTo(t.byteSize());
            }
            // rows: a slice of the whole
            GgufTensorInfo output = gguf.tensor("output.weight");
            float[] whole = gguf.dequantize(output);
            float[] rows = new float[10 * 8 + 3];
            gguf.dequantizeRows(output, 31990, 10, rows, 3);
            for (int i = 0; i < 80; i++) {
                assertThat(rows[3 + i]).isEqualTo(whole[31990 * 8 + i]);
            }
            assertThatThrownBy(() -> gguf.dequantizeRows(output, 31991, 10, rows, 0)).isInstanceOf(IndexOutOfBoundsException.class);
        }
    }

    @Test
    void vocabularyOnlyFilesHaveMetadataAndNoTensors() throws IOException {
        try (GgufFile spm = GgufFile.open(GgufTestFiles.require(GgufTestFiles.VOCAB_LLAMA_SPM));
             GgufFile gpt2 = GgufFile.open(GgufTestFiles.require(GgufTestFiles.VOCAB_GPT2))) {
            assertThat(spm.tensors()).isEmpty();
            assertThat(spm.metadata().getBool("tokenizer.ggml.add_bos_token")).isTrue();
            assertThat(spm.metadata().getBool("tokenizer.ggml.add_eos_token")).isFalse();
            assertThat(gpt2.tensors()).isEmpty();
            assertThat(gpt2.metadata().getString("tokenizer.ggml.pre")).isEqualTo("gpt-2");
            assertThat(gpt2.metadata().getStringArray("tokenizer.ggml.tokens")).hasSize(50257);
            List<String> merges = gpt2.metadata().getStringArray("tokenizer.ggml.merges");
            assertThat(merges).hasSize(50000);
            assertThat(merges.get(0)).isEqualTo("Ġ t");
        }
    }

    @Test
    void typedAccessorsNameTheKeyWhenTheTypeIsWrong() throws IOException {
        try (GgufFile gguf = GgufFile.open(GgufTestFiles.require(GgufTestFiles.TINY_RANDOM))) {
            GgufMetadata m = gguf.metadata();
            assertThatThrownBy(() -> m.getString("llama.block_count")).isInstanceOf(GgufException.class)
                    .hasMessageContaining("'llama.block_count'").hasMessageContaining("UINT32").hasMessageContaining("at byte")
                    .satisfies(e -> assertThat(((GgufException) e).problem()).isEqualTo(GgufException.Problem.WRONG_TYPE));
            assertThatThrownBy(() -> m.getInt("general.name")).hasMessageContaining("'general.name'");
            assertThatThrownBy(() -> m.getFloatArray("tokenizer.ggml.tokens")).hasMessageContaining("ARRAY of STRING");
            assertThatThrownBy(() -> m.getBool("no.such.key")).hasMessageContaining("'no.such.key' is missing")
                    .satisfies(e -> assertThat(((GgufException) e).problem()).isEqualTo(GgufException.Problem.MISSING));
            assertThat(m.findString("no.such.key")).isEmpty();
            assertThat(m.findInt("llama.block_count")).hasValue(1);
        }
    }

    @Test
    void closedFilesRefuseReads() throws IOException {
        GgufFile gguf = GgufFile.open(GgufTestFiles.require(GgufTestFiles.TINY_RANDOM));
        GgufTensorInfo norm = gguf.tensor("output_norm.weight");
        gguf.close();
        assertThatThrownBy(() -> gguf.dequantize(norm)).isInstanceOf(IllegalStateException.class);
        assertThat(gguf.metadata().architecture()).isEqualTo("llama");
    }

    /** fp16 decoded by hand from sign, exponent and mantissa. */
    private static float halfByHand(short bits) {
        int exponent = (bits >> 10) & 0x1F;
        int mantissa = bits & 0x3FF;
        double value = exponent == 0 ? mantissa * Math.pow(2, -24) : (1 + mantissa / 1024.0) * Math.pow(2, exponent - 15);
        return (float) ((bits & 0x8000) != 0 ? -value : value);
    }
}
