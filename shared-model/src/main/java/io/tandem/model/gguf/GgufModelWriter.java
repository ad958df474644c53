package io.tandem.model.gguf;

import io.tandem.model.llama.LayerWeights;
import io.tandem.model.llama.LlamaConfig;
import io.tandem.model.llama.LlamaWeights;
import io.tandem.model.llama.Matrix;
import io.tandem.model.llama.RopeLayout;
import io.tandem.model.tokenizer.Llama2cTokenizer;
import io.tandem.model.tokenizer.TokenType;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes a Llama-family model as a GGUF file the way llama.cpp's converters do, so that llama.cpp and other
 * GGUF tools load it: {@code general.*} and {@code {arch}.*} hyperparameter keys, the tokenizer's
 * {@code tokenizer.*} keys, and tensors named {@code token_embd.weight}, {@code blk.N.attn_q.weight} ...
 * {@code output_norm.weight}, {@code output.weight} (left out when the classifier is tied to the embedding,
 * which llama.cpp then reuses), stored as dims {@code [in, out]}.
 *
 * <p>Q/K row order: ggml's {@code llama} runtime rotates adjacent pairs (2i, 2i+1) of each head, which is
 * what llama2.c checkpoints already do, so their rows are written as they are (llama.cpp's own
 * convert-llama2c-to-ggml copies them unchanged too). A {@code llama} model that rotates halves (Hugging
 * Face order) gets llama.cpp's convert permutation, which moves row {@code s * headDim/2 + i} of each head
 * to {@code 2i + s}. {@code qwen2} files keep halves (ggml's NEOX mode), so its rows are never permuted.
 *
 * <p>Quantized file types (Q8_0, Q4_0) apply to the matrices; norms and biases stay F32, as llama.cpp
 * keeps 1-D tensors, and so does a matrix whose rows are not a whole number of 32-value blocks (stories260K's
 * FFN down projection has rows of 172), where llama.cpp would fall back to another type as well.
 */
public final class GgufModelWriter {

    /** The file types the writer produces and the ggml {@code general.file_type} (llama_ftype) each records. */
    private static final Map<GgmlType, Integer> FILE_TYPES = Map.of(GgmlType.F32, 0, GgmlType.F16, 1,
            GgmlType.Q4_0, 2, GgmlType.Q8_0, 7);
    private static final Set<String> ARCHITECTURES = Set.of("llama", "qwen2");

    private GgufModelWriter() {
    }

    /** The types {@link #write} accepts. */
    public static Set<GgmlType> fileTypes() {
        return FILE_TYPES.keySet();
    }

    /**
     * Writes {@code weights} with {@code tokenizerMetadata} (the {@code tokenizer.*} entries) to {@code out},
     * matrices as {@code type}. The file appears whole or not at all (it is written beside and renamed).
     */
    public static void write(Path out, String name, LlamaWeights weights, Map<String, GgufValue> tokenizerMetadata,
                             GgmlType type) throws IOException {
        Integer fileType = FILE_TYPES.get(type);
        if (fileType == null) {
            throw new IllegalArgumentException("GGUF files are written as " + FILE_TYPES.keySet() + ", not " + type);
        }
        LlamaConfig config = weights.config();
        String arch = config.architecture();
        if (!ARCHITECTURES.contains(arch)) {
            throw new IllegalArgumentException("architecture '" + arch + "' has no GGUF mapping here (llama, qwen2)");
        }
        if (arch.equals("qwen2") && config.ropeLayout() != RopeLayout.HALVES) {
            throw new IllegalArgumentException("qwen2 GGUF files rotate halves; these weights rotate adjacent pairs");
        }
        boolean permute = arch.equals("llama") && config.ropeLayout() == RopeLayout.HALVES;

        GgufWriter writer = new GgufWriter();
        writer.putString(GgufMetadata.ARCHITECTURE_KEY, arch);
        writer.putString("general.name", name);
        writer.putUInt32("general.file_type", fileType);
        if (type.isQuantized()) {
            writer.putUInt32("general.quantization_version", 2);
        }
        String p = arch + ".";
        writer.putUInt32(p + "vocab_size", config.vocabSize());
        writer.putUInt32(p + "context_length", config.contextLength());
        writer.putUInt32(p + "embedding_length", config.dim());
        writer.putUInt32(p + "feed_forward_length", config.hiddenDim());
        writer.putUInt32(p + "block_count", config.layers());
        writer.putUInt32(p + "attention.head_count", config.heads());
        writer.putUInt32(p + "attention.head_count_kv", config.kvHeads());
        writer.putFloat32(p + "attention.layer_norm_rms_epsilon", config.normEps());
        writer.putFloat32(p + "rope.freq_base", config.ropeTheta());
        writer.putUInt32(p + "rope.dimension_count", config.headDim());
        tokenizerMetadata.forEach(writer::put);

        addMatrix(writer, "token_embd.weight", weights.tokenEmbedding(), type);
        for (int l = 0; l < config.layers(); l++) {
            LayerWeights layer = weights.layers().get(l);
            String blk = "blk." + l + ".";
            addVector(writer, blk + "attn_norm.weight", layer.attentionNorm());
            addMatrix(writer, blk + "attn_q.weight", permute ? toAdjacentPairs(layer.wq(), config.heads(), config) : layer.wq(), type);
            addMatrix(writer, blk + "attn_k.weight", permute ? toAdjacentPairs(layer.wk(), config.kvHeads(), config) : layer.wk(), type);
            addMatrix(writer, blk + "attn_v.weight", layer.wv(), type);
            if (layer.hasQkvBias()) {
                addVector(writer, blk + "attn_q.bias", permute ? toAdjacentPairs(layer.bq(), config.heads(), config) : layer.bq());
                addVector(writer, blk + "attn_k.bias", permute ? toAdjacentPairs(layer.bk(), config.kvHeads(), config) : layer.bk());
                addVector(writer, blk + "attn_v.bias", layer.bv());
            }
            addMatrix(writer, blk + "attn_output.weight", layer.wo(), type);
            addVector(writer, blk + "ffn_norm.weight", layer.ffnNorm());
            addMatrix(writer, blk + "ffn_gate.weight", layer.w1Gate(), type);
            addMatrix(writer, blk + "ffn_down.weight", layer.w2Down(), type);
            addMatrix(writer, blk + "ffn_up.weight", layer.w3Up(), type);
        }
        addVector(writer, "output_norm.weight", weights.finalNorm());
        if (!config.ropeFrequencyFactors().isEmpty()) {
            float[] factors = new float[config.ropeFrequencyFactors().size()];
            for (int i = 0; i < factors.length; i++) {
                factors[i] = config.ropeFrequencyFactors().get(i);
            }
            writer.addTensor(GgufModelLoader.ROPE_FREQS, GgmlType.F32, new long[] {factors.length}, factors);
        }
        if (weights.classifier() != null) {
            addMatrix(writer, "output.weight", weights.classifier(), type);
        }
        writer.write(out);
    }

    /**
     * The {@code tokenizer.*} entries of a llama2.c vocabulary, as llama.cpp's convert-llama2c-to-ggml writes
     * them: a SentencePiece ({@code llama}) vocabulary whose spaces are written as ▁, {@code <unk>},
     * {@code <s>} and {@code </s>} at ids 0, 1 and 2, {@code <0xNN>} pieces typed BYTE.
     *
     * <p>{@code tokenizer.ggml.eot_token_id} is BOS: a llama2.c story model ends a story by starting the next
     * one, so that is where generation must stop, as llama2.c's run.c stops. GGUF readers (llama.cpp included)
     * end generation at the EOT token.
     */
    public static Map<String, GgufValue> llama2cVocabulary(Llama2cTokenizer tokenizer) {
        int n = tokenizer.vocabSize();
        List<String> pieces = new ArrayList<>(n);
        float[] scores = new float[n];
        int[] types = new int[n];
        for (int id = 0; id < n; id++) {
            String piece = tokenizer.piece(id);
            TokenType type;
            if (id == 0) {
                piece = "<unk>";
                type = TokenType.UNKNOWN;
            } else if (id == tokenizer.bosId()) {
                piece = "<s>";
                type = TokenType.CONTROL;
            } else if (id == tokenizer.eosId()) {
                piece = "</s>";
                type = TokenType.CONTROL;
            } else if (piece.isEmpty()) {
                type = TokenType.CONTROL;
            } else if (piece.matches("<0x[0-9A-Fa-f]{2}>")) {
                type = TokenType.BYTE;
            } else {
                type = TokenType.NORMAL;
            }
            pieces.add(piece.replace(' ', '\u2581'));
            scores[id] = tokenizer.score(id);
            types[id] = type.ordinal();
        }
        Map<String, GgufValue> md = new LinkedHashMap<>();
        md.put("tokenizer.ggml.model", GgufValue.string("llama"));
        md.put("tokenizer.ggml.tokens", GgufValue.strings(pieces));
        md.put("tokenizer.ggml.scores", GgufValue.float32s(scores));
        md.put("tokenizer.ggml.token_type", GgufValue.int32s(types));
        md.put("tokenizer.ggml.bos_token_id", GgufValue.uint32(tokenizer.bosId()));
        md.put("tokenizer.ggml.eos_token_id", GgufValue.uint32(tokenizer.eosId()));
        md.put("tokenizer.ggml.eot_token_id", GgufValue.uint32(tokenizer.bosId()));
        md.put("tokenizer.ggml.unknown_token_id", GgufValue.uint32(0));
        md.put("tokenizer.ggml.add_bos_token", GgufValue.bool(true));
        md.put("tokenizer.ggml.add_eos_token", GgufValue.bool(false));
        return md;
    }

    /** Matrices in the file type when their rows are whole blocks of it, else F32 (exact). */
    private static void addMatrix(GgufWriter writer, String tensor, Matrix m, GgmlType type) {
        GgmlType stored = m.cols() % type.blockSize() == 0 ? type : GgmlType.F32;
        writer.addTensor(tensor, stored, new long[] {m.cols(), m.rows()}, m.data());
    }

    private static void addVector(GgufWriter writer, String tensor, Matrix v) {
        writer.addTensor(tensor, GgmlType.F32, new long[] {v.size()}, v.data());
    }

    /**
     * llama.cpp's convert permutation for Q/K of Hugging Face llama models: within each head, the row that
     * rotates with partner {@code i + headDim/2} (halves) moves next to it, row {@code s * half + i} to
     * {@code 2i + s}, so that ggml's adjacent-pair rotation computes the same attention. Works on weights
     * (rows of any width) and biases (one row of {@code heads * headDim}).
     */
    static Matrix toAdjacentPairs(Matrix m, int heads, LlamaConfig config) {
        int hd = config.headDim();
        int half = hd / 2;
        boolean vector = m.rows() == 1;
        int rows = vector ? m.cols() : m.rows();
        int width = vector ? 1 : m.cols();
        if (rows != heads * hd) {
            throw new IllegalArgumentException(m.name() + " has " + rows + " rows, not " + heads + " heads of " + hd);
        }
        float[] src = m.data();
        float[] out = new float[src.length];
        for (int h = 0; h < heads; h++) {
            for (int s = 0; s < 2; s++) {
                for (int i = 0; i < half; i++) {
                    int from = h * hd + s * half + i;
                    int to = h * hd + 2 * i + s;
                    System.arraycopy(src, from * width, out, to * width, width);
                }
            }
        }
        return new Matrix(m.name(), m.rows(), m.cols(), out);
    }
}
