package io.tandem.model.gguf;

import io.tandem.model.llama.LlamaConfig;
import io.tandem.model.llama.LlamaWeights;
import io.tandem.model.llama.RandomWeights;
import io.tandem.model.llama.RopeLayout;
import io.tandem.model.tokenizer.TokenType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/** Small seeded GGUF models written by the tests, and a rewriter to damage or alter them one thing at a time. */
final class GgufTestModels {

    /** A ChatML template as Qwen2.5 files carry (shortened: no tools). */
    static final String CHATML_TEMPLATE = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' "
            + "+ message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}"
            + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    private GgufTestModels() {
    }

    /**
     * A byte-level BPE ({@code gpt2}) vocabulary as Qwen2 files have it: the 256 byte characters of GPT-2,
     * two merges, and the ChatML control tokens; no BOS added.
     */
    static Map<String, GgufValue> qwen2Vocabulary() {
        List<String> tokens = new ArrayList<>(byteCharacters());
        List<Integer> types = new ArrayList<>(java.util.Collections.nCopies(tokens.size(), TokenType.NORMAL.ordinal()));
        for (String merged : List.of("\u0120t", "he")) {
            tokens.add(merged);
            types.add(TokenType.NORMAL.ordinal());
        }
        for (String control : List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>")) {
            tokens.add(control);
            types.add(TokenType.CONTROL.ordinal());
        }
        Map<String, GgufValue> md = new LinkedHashMap<>();
        md.put("tokenizer.ggml.model", GgufValue.string("gpt2"));
        md.put("tokenizer.ggml.pre", GgufValue.string("qwen2"));
        md.put("tokenizer.ggml.tokens", GgufValue.strings(tokens));
        md.put("tokenizer.ggml.token_type", GgufValue.int32s(types.stream().mapToInt(Integer::intValue).toArray()));
        md.put("tokenizer.ggml.merges", GgufValue.strings(List.of("\u0120 t", "h e")));
        md.put("tokenizer.ggml.bos_token_id", GgufValue.uint32(tokens.indexOf("<|endoftext|>")));
        md.put("tokenizer.ggml.eos_token_id", GgufValue.uint32(tokens.indexOf("<|im_end|>")));
        md.put("tokenizer.ggml.padding_token_id", GgufValue.uint32(tokens.indexOf("<|endoftext|>")));
        md.put("tokenizer.ggml.add_bos_token", GgufValue.bool(false));
        md.put("tokenizer.chat_template", GgufValue.string(CHATML_TEMPLATE));
        return md;
    }

    /** GPT-2's bytes_to_unicode: printable bytes stand for themselves, the others for U+0100 onwards. */
    static List<String> byteCharacters() {
        String[] chars = new String[256];
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            chars[b] = new String(Character.toChars(printable ? b : next++));
        }
        return Arrays.asList(chars);
    }

    static final int QWEN2_VOCAB = 256 + 2 + 3;

    /** A qwen2-shaped model: rotary over halves, Q/K/V biases, grouped-query attention, tied classifier. */
    static LlamaConfig qwen2Config() {
        return new LlamaConfig("qwen2", 64, 96, 4, 4, 2, QWEN2_VOCAB, 128, 1e-6f, 1_000_000f, RopeLayout.HALVES,
                true, true);
    }

    static LlamaWeights qwen2Weights(long seed) {
        return RandomWeights.create(qwen2Config(), seed);
    }

    /** A small llama2.c-style vocabulary of {@code size} tokens: control tokens, byte tokens, then letters. */
    static Map<String, GgufValue> llamaVocabulary(int size) {
        List<String> tokens = new ArrayList<>(List.of("<unk>", "<s>", "</s>"));
        List<Integer> types = new ArrayList<>(List.of(TokenType.UNKNOWN.ordinal(), TokenType.CONTROL.ordinal(),
                TokenType.CONTROL.ordinal()));
        for (int b = 0; b < 256 && tokens.size() < size; b++) {
            tokens.add(String.format("<0x%02X>", b));
            types.add(TokenType.BYTE.ordinal());
        }
        for (int i = 0; tokens.size() < size; i++) {
            tokens.add("\u2581" + (char) ('a' + i % 26) + (i / 26 == 0 ? "" : Integer.toString(i / 26)));
            types.add(TokenType.NORMAL.ordinal());
        }
        float[] scores = new float[size];
        for (int i = 0; i < size; i++) {
            scores[i] = -i;
        }
        Map<String, GgufValue> md = new LinkedHashMap<>();
        md.put("tokenizer.ggml.model", GgufValue.string("llama"));
        md.put("tokenizer.ggml.tokens", GgufValue.strings(tokens));
        md.put("tokenizer.ggml.scores", GgufValue.float32s(scores));
        md.put("tokenizer.ggml.token_type", GgufValue.int32s(types.stream().mapToInt(Integer::intValue).toArray()));
        return md;
    }

    /** A llama model of {@code vocab} tokens rotating adjacent pairs, untied, without biases. */
    static LlamaConfig llamaConfig(int vocab) {
        return new LlamaConfig("llama", 64, 96, 3, 4, 2, vocab, 64, 1e-5f, 10000f, RopeLayout.ADJACENT_PAIRS, false, false);
    }

    /** Writes a small valid llama GGUF (F32) and returns its path. */
    static Path writeLlama(Path dir, String name) throws IOException {
        Path file = dir.resolve(name);
        GgufModelWriter.write(file, name, RandomWeights.create(llamaConfig(300), 3), llamaVocabulary(300), GgmlType.F32);
        return file;
    }

    /** What a rewrite changes: metadata to set or drop, tensors to drop, rename or add. */
    static final class Edit {
        final Map<String, GgufValue> set = new LinkedHashMap<>();
        final List<String> dropKeys = new ArrayList<>();
        final List<String> dropTensors = new ArrayList<>();
        final Map<String, String> renames = new LinkedHashMap<>();
        final Map<String, float[]> addF32 = new LinkedHashMap<>();

        Edit set(String key, GgufValue value) {
            set.put(key, value);
            return this;
        }

        Edit dropKey(String key) {
            dropKeys.add(key);
            return this;
        }

        Edit dropTensor(String name) {
            dropTensors.add(name);
            return this;
        }

        Edit renameTensor(String from, String to) {
            renames.put(from, to);
            return this;
        }

        Edit addTensor(String name, float[] values) {
            addF32.put(name, values);
            return this;
        }
    }

    /** A copy of {@code in} with {@code edits} applied, written through {@link GgufWriter}. */
    static Path rewrite(Path in, Path out, Consumer<Edit> edits) throws IOException {
        Edit edit = new Edit();
        edits.accept(edit);
        GgufWriter writer = new GgufWriter();
        try (GgufFile file = GgufFile.open(in)) {
            Map<String, GgufValue> metadata = new LinkedHashMap<>(file.metadata().asMap());
            metadata.remove(GgufMetadata.ALIGNMENT_KEY);
            edit.dropKeys.forEach(metadata::remove);
            metadata.putAll(edit.set);
            metadata.forEach(writer::put);
            for (GgufTensorInfo tensor : file.tensors()) {
                if (edit.dropTensors.contains(tensor.name())) {
                    continue;
                }
                byte[] raw = new byte[(int) tensor.byteSize()];
                file.tensorBytes(tensor).get(raw);
                writer.addTensor(edit.renames.getOrDefault(tensor.name(), tensor.name()), tensor.type(), tensor.dims(), raw);
            }
        }
        edit.addF32.forEach((name, values) -> writer.addTensor(name, GgmlType.F32, new long[] {values.length}, values));
        writer.write(out);
        return out;
    }

    /** The file offset of the uint32 type id in the tensor info of {@code tensor}. */
    static int tensorTypeOffset(byte[] file, String tensor, int dims) {
        byte[] name = tensor.getBytes(StandardCharsets.UTF_8);
        outer:
        for (int i = 0; i + name.length < file.length; i++) {
            for (int j = 0; j < name.length; j++) {
                if (file[i + j] != name[j]) {
                    continue outer;
                }
            }
            // the info: name, uint32 n_dims, n_dims uint64 dims, then the type
            return i + name.length + 4 + 8 * dims;
        }
        throw new IllegalArgumentException("tensor name " + tensor + " not found");
    }
}
