package io.tandem.model.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.tandem.model.engine.Engine;
import io.tandem.model.engine.EngineOptions;
import io.tandem.model.engine.LoadedModel;
import io.tandem.model.engine.ModelTokenizer;
import io.tandem.model.engine.Partitions;
import io.tandem.model.generate.GenerationRequest;
import io.tandem.model.generate.GenerationResult;
import io.tandem.model.gguf.GgufException.Problem;
import io.tandem.model.llama.LayerWeights;
import io.tandem.model.llama.LlamaConfig;
import io.tandem.model.llama.LlamaWeights;
import io.tandem.model.llama.RandomWeights;
import io.tandem.model.llama.RopeLayout;
import io.tandem.model.onnx.ActivationPrecision;
import io.tandem.model.onnx.GraphFlavour;
import io.tandem.model.onnx.WeightPrecision;
import io.tandem.model.reference.ReferenceForward;
import io.tandem.model.runtime.KvSequence;
import io.tandem.model.runtime.RuntimeOptions;
import io.tandem.model.runtime.StageInput;
import io.tandem.model.runtime.StageOutput;
import io.tandem.model.sampling.SamplingParams;
import io.tandem.model.tokenizer.SharedModels;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * GGUF files to runnable models: the real llama-2-tiny-random file, seeded qwen2 and llama files written here
 * (whole against split, against the plain Java forward pass of the weights they were written from), stored
 * Q4_0 blocks reaching an int4 graph exactly, and every kind of bad file refused with the key or tensor named.
 */
class GgufModelLoaderTest {

    @TempDir
    Path dir;

    // ---------------------------------------------------------------- a real file

    @Test
    void tinyRandomLlamaLoadsFromItsMetadataAndGeneratesLikeTheReference() throws IOException {
        Path file = SharedModels.require(GgufTestFiles.TINY_RANDOM);
        LoadedModel model = LoadedModel.load(file, null);
        LlamaConfig config = model.weights().config();
        assertThat(config).isEqualTo(new LlamaConfig("llama", 8, 32, 1, 2, 2, 32000, 4096, config.normEps(), 10000f,
                RopeLayout.ADJACENT_PAIRS, false, false));
        assertThat(config.normEps()).isPositive();
        assertThat(model.sourceFormat()).startsWith("gguf v3 (").contains("F16").contains("F32");
        assertThat(model.sourceSha256()).isEqualTo("81f226c62d28ed4a1a9b9fa080fcd9f0cc40e0f9d5680036583ff98fbcd035cb");
        int[] prompt = model.encodePrompt("Hello world");
        assertThat(prompt[0]).isEqualTo(1);

        int steps = 40;
        int[] expected = referenceGreedy(model.weights(), prompt, steps, model.endTokens());
        try (Engine engine = Engine.open(model, new EngineOptions(WeightPrecision.FP32, GraphFlavour.FAST, 0,
                RuntimeOptions.threads(1)))) {
            GenerationRequest request = new GenerationRequest(prompt, steps, List.of(), SamplingParams.greedy());
            GenerationResult first = engine.generate(request);
            GenerationResult second = engine.generate(request);
            assertThat(first.allIds()).containsExactly(expected);
            assertThat(second.allIds()).containsExactly(first.allIds());
            assertThat(second.text()).isEqualTo(first.text());
        }
    }

    // ---------------------------------------------------------------- qwen2

    @ParameterizedTest
    @CsvSource({"FAST", "PORTABLE"})
    void qwen2FileRunsWholeAndSplitAtEveryLayerWithTheSameLogits(GraphFlavour flavour) throws IOException {
        LlamaWeights written = GgufTestModels.qwen2Weights(11);
        Path file = dir.resolve("qwen2-random.gguf");
        GgufModelWriter.write(file, "qwen2-random", written, GgufTestModels.qwen2Vocabulary(), GgmlType.F32);
        LoadedModel model = LoadedModel.load(file, null);
        assertThat(model.weights().config()).isEqualTo(written.config());
        assertThat(model.weights().classifier()).isNull();

        // ids through the file's own byte-level BPE vocabulary: no BOS, "Ġt" and "he" merged
        int[] prompt = model.encodePrompt("the tea");
        assertThat(model.tokenizer().encodePrompt("")).hasSize(1);
        long[][] steps = {Arrays.stream(prompt).asLongStream().toArray(), {7}, {42}, {100}};
        int layers = model.weights().config().layers();
        EngineOptions options = new EngineOptions(WeightPrecision.FP32, flavour, 0, RuntimeOptions.threads(1));
        try (Partitions partitions = new Partitions(model, options)) {
            float[][] whole = new float[steps.length][];
            ReferenceForward reference = new ReferenceForward(written);
            try (KvSequence seq = partitions.range(0, layers).session().newSequence()) {
                for (int s = 0; s < steps.length; s++) {
                    whole[s] = copy(((StageOutput.Logits) seq.run(new StageInput.Tokens(steps[s]))).values());
                    float[] expected = null;
                    for (long id : steps[s]) {
                        expected = reference.forward((int) id);
                    }
                    assertThat(maxDifference(whole[s], expected)).as("step %d against the reference", s).isLessThan(1e-4f);
                }
            }
            for (int k = 1; k < layers; k++) {
                try (KvSequence edge = partitions.range(0, k).session().newSequence();
                     KvSequence cloud = partitions.range(k, layers).session().newSequence()) {
                    for (int s = 0; s < steps.length; s++) {
                        StageOutput.Hidden hidden = (StageOutput.Hidden) edge.run(new StageInput.Tokens(steps[s]));
                        float[] split = copy(((StageOutput.Logits) cloud.run(
                                new StageInput.Hidden(hidden.bytes(), hidden.positions()))).values());
                        assertThat(maxDifference(split, whole[s])).as("split at %d, step %d", k, s).isLessThanOrEqualTo(1e-5f);
                    }
                }
            }
        }
    }

    @Test
    void qwen2TokenizerEndsGenerationsAndCarriesTheChatTemplate() throws IOException {
        Path file = dir.resolve("qwen2-random.gguf");
        GgufModelWriter.write(file, "qwen2-random", GgufTestModels.qwen2Weights(11), GgufTestModels.qwen2Vocabulary(),
                GgmlType.Q8_0);
        LoadedModel model = LoadedModel.load(file, null);
        ModelTokenizer tokenizer = model.tokenizer();
        int imEnd = GgufTestModels.QWEN2_VOCAB - 1;
        int imStart = imEnd - 1;
        assertThat(model.endTokens()).contains(imEnd);
        assertThat(tokenizer.chatTemplateSource()).contains(GgufTestModels.CHATML_TEMPLATE);
        assertThat(tokenizer.eosText()).isEqualTo("<|im_end|>");
        // markup in a rendered conversation becomes its control tokens; in user text it stays text
        assertThat(tokenizer.encodeChatPrompt("<|im_start|>user\nhe<|im_end|>")).startsWith(imStart).endsWith(imEnd);
        assertThat(tokenizer.encodePrompt("<|im_start|>")).doesNotContain(imStart);

        // the file's ChatML template renders a conversation; its markup encodes as the control tokens
        String rendered = tokenizer.chatTemplate().render(List.of(
                new io.tandem.model.chat.ChatMessage(io.tandem.model.chat.ChatMessage.Role.USER, "the tea")));
        assertThat(rendered).isEqualTo("<|im_start|>user\nthe tea<|im_end|>\n<|im_start|>assistant\n");
        int[] ids = tokenizer.encodeChatPrompt(rendered);
        assertThat(ids[0]).isEqualTo(imStart);
        assertThat(ids).contains(imEnd);
        assertThat(ids[ids.length - 1]).isEqualTo(GgufTestModels.byteCharacters().indexOf("\u010a"));
    }

    @Test
    void chatTemplateThatDoesNotCompileNamesTheFileAndKey() throws IOException {
        Path file = GgufTestModels.rewrite(GgufTestModels.writeLlama(dir, "good.gguf"), dir.resolve("bad-template.gguf"),
                edit -> edit.set("tokenizer.chat_template", GgufValue.string("{% for m in messages %}{{ m.content }")));
        LoadedModel model = LoadedModel.load(file, null);
        GgufException e = catchThrowableOfType(GgufException.class, () -> model.tokenizer().chatTemplate());
        assertThat(e.getMessage()).startsWith(file.toString()).contains("'tokenizer.chat_template'");
        assertThat(LoadedModel.load(GgufTestModels.writeLlama(dir, "plain.gguf"), null).tokenizer().chatTemplate())
                .isSameAs(io.tandem.model.chat.ChatTemplate.PLAIN);
    }

    // ---------------------------------------------------------------- llama row order

    /**
     * A llama model that rotates halves (Hugging Face order) is written with llama.cpp's Q/K permutation and
     * read back rotating adjacent pairs: the same function, to float rounding.
     */
    @Test
    void llamaWeightsInHalvesOrderArePermutedIntoAdjacentPairs() throws IOException {
        LlamaConfig halves = new LlamaConfig("llama", 64, 96, 2, 4, 2, 300, 64, 1e-5f, 10000f, RopeLayout.HALVES, true,
                true);
        LlamaWeights written = RandomWeights.create(halves, 21);
        Path file = dir.resolve("llama-halves.gguf");
        GgufModelWriter.write(file, "llama-halves", written, GgufTestModels.llamaVocabulary(300), GgmlType.F32);
        LoadedModel model = LoadedModel.load(file, null);
        assertThat(model.weights().config().ropeLayout()).isEqualTo(RopeLayout.ADJACENT_PAIRS);
        ReferenceForward original = new ReferenceForward(written);
        ReferenceForward loaded = new ReferenceForward(model.weights());
        for (int token : new int[] {1, 50, 7, 299, 3}) {
            assertThat(maxDifference(loaded.forward(token), original.forward(token))).isLessThan(1e-5f);
        }
        // without the permutation the rows would rotate the wrong pairs: a different model
        LayerWeights first = model.weights().layers().getFirst();
        assertThat(first.wq().data()).isNotEqualTo(written.layers().getFirst().wq().data());
        assertThat(first.wv().data()).isEqualTo(written.layers().getFirst().wv().data());
    }

    // ---------------------------------------------------------------- exact Q4_0

    /**
     * Q4_0 blocks that ggml's quantizer would never write (no value at code 0, so re-deriving a scale from the
     * dequantized values gives other codes) still reach the int4 graph as stored: its logits are those of an
     * fp32 graph over the file's dequantized weights.
     */
    @Test
    void storedQ4_0BlocksAreUsedAsTheyAre() throws IOException {
        Path plain = GgufTestModels.writeLlama(dir, "plain.gguf");
        Path q4 = dir.resolve("q4.gguf");
        java.util.Random random = new java.util.Random(8);
        // every matrix re-stored as Q4_0 with codes 5..11 only
        GgufWriter writer = new GgufWriter();
        try (GgufFile file = GgufFile.open(plain)) {
            file.metadata().asMap().forEach(writer::put);
            for (GgufTensorInfo t : file.tensors()) {
                if (t.dimCount() != 2) {
                    byte[] raw = new byte[(int) t.byteSize()];
                    file.tensorBytes(t).get(raw);
                    writer.addTensor(t.name(), t.type(), t.dims(), raw);
                    continue;
                }
                int blocks = (int) (t.elementCount() / 32);
                ByteBuffer raw = ByteBuffer.allocate(blocks * 18).order(ByteOrder.LITTLE_ENDIAN);
                for (int b = 0; b < blocks; b++) {
                    raw.putShort(Float.floatToFloat16(0.01f + random.nextFloat() * 0.05f));
                    for (int j = 0; j < 16; j++) {
                        raw.put((byte) ((5 + random.nextInt(7)) | ((5 + random.nextInt(7)) << 4)));
                    }
                }
                writer.addTensor(t.name(), GgmlType.Q4_0, t.dims(), raw.array());
            }
        }
        writer.write(q4);
        LoadedModel model = LoadedModel.load(q4, null);
        // 3 layers of 7 projections and the classifier (the token embedding is looked up, in fp32)
        assertThat(model.weightSource().exactBlocks()).hasSize(3 * 7 + 1);

        long[] tokens = {1, 40, 77, 12, 290};
        float[] exact = lastLogits(model, WeightPrecision.INT4, tokens);
        float[] fp32 = lastLogits(model, WeightPrecision.FP32, tokens);
        assertThat(maxDifference(exact, fp32)).isLessThan(1e-4f);
        // requantizing the dequantized weights would have computed something else
        LoadedModel requantized = new LoadedModel("requantized", model.weights(), model.sourceFormat(), model.sourceSha256(),
                model.tokenizer());
        assertThat(maxDifference(lastLogits(requantized, WeightPrecision.INT4, tokens), fp32)).isGreaterThan(1e-3f);
    }

    private static float[] lastLogits(LoadedModel model, WeightPrecision precision, long[] tokens) {
        EngineOptions options = new EngineOptions(precision, GraphFlavour.FAST, 0, RuntimeOptions.threads(1),
                ActivationPrecision.FP32);
        try (Partitions partitions = new Partitions(model, options);
             KvSequence seq = partitions.range(0, model.weights().config().layers()).session().newSequence()) {
            return copy(((StageOutput.Logits) seq.run(new StageInput.Tokens(tokens))).values());
        }
    }

    // ---------------------------------------------------------------- bad files

    @Test
    void truncatedFileIsRefusedNamingTheFile() throws IOException {
        Path good = GgufTestModels.writeLlama(dir, "good.gguf");
        byte[] bytes = Files.readAllBytes(good);
        Path cut = Files.write(dir.resolve("cut.gguf"), Arrays.copyOf(bytes, bytes.length - 1000));
        GgufException e = fails(cut, Problem.TRUNCATED);
        assertThat(e.getMessage()).startsWith(cut.toString()).contains("output.weight");
    }

    @Test
    void flippedMagicIsRefusedAsGgufNotReadAsACheckpoint() throws IOException {
        byte[] bytes = Files.readAllBytes(GgufTestModels.writeLlama(dir, "good.gguf"));
        bytes[0] = 'X';
        Path bad = Files.write(dir.resolve("bad-magic.gguf"), bytes);
        assertThat(fails(bad, Problem.BAD_MAGIC).getMessage()).contains("GGUF magic");
    }

    @Test
    void unknownTensorTypeIdNamesTheTensor() throws IOException {
        byte[] bytes = Files.readAllBytes(GgufTestModels.writeLlama(dir, "good.gguf"));
        int at = GgufTestModels.tensorTypeOffset(bytes, "blk.1.attn_k.weight", 2);
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(at, 99);
        Path bad = Files.write(dir.resolve("unknown-type.gguf"), bytes);
        assertThat(fails(bad, Problem.UNKNOWN_TENSOR_TYPE).getMessage()).contains("blk.1.attn_k.weight").contains("99");
    }

    @Test
    void tensorTypeThatCannotBeConvertedNamesTheTensorAndType() throws IOException {
        Path good = GgufTestModels.writeLlama(dir, "good.gguf");
        byte[] bytes = Files.readAllBytes(good);
        // F32 -> I32: same size, a known type no weight can be
        int at = GgufTestModels.tensorTypeOffset(bytes, "blk.0.ffn_up.weight", 2);
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(at, GgmlType.I32.id());
        Path bad = Files.write(dir.resolve("i32.gguf"), bytes);
        assertThat(fails(bad, Problem.UNSUPPORTED).getMessage()).contains("blk.0.ffn_up.weight").contains("I32");
    }

    @Test
    void unsupportedArchitectureNamesTheKeyAndWhatIsSupported() throws IOException {
        Path bad = GgufTestModels.rewrite(GgufTestModels.writeLlama(dir, "good.gguf"), dir.resolve("mamba.gguf"),
                edit -> edit.set("general.architecture", GgufValue.string("mamba")));
        assertThat(fails(bad, Problem.UNSUPPORTED).getMessage())
                .contains("general.architecture is 'mamba'").contains("'llama'").contains("'qwen2'");
    }

    @Test
    void missingTensorIsNamed() throws IOException {
        Path bad = GgufTestModels.rewrite(GgufTestModels.writeLlama(dir, "good.gguf"), dir.resolve("missing.gguf"),
                edit -> edit.dropTensor("blk.2.ffn_gate.weight"));
        assertThat(fails(bad, Problem.MISSING).getMessage()).contains("tensor 'blk.2.ffn_gate.weight' is missing");
    }

    @Test
    void missingKeyIsNamed() throws IOException {
        Path bad = GgufTestModels.rewrite(GgufTestModels.writeLlama(dir, "good.gguf"), dir.resolve("no-eps.gguf"),
                edit -> edit.dropKey("llama.attention.layer_norm_rms_epsilon"));
        assertThat(fails(bad, Problem.MISSING).getMessage()).contains("'llama.attention.layer_norm_rms_epsilon'");
    }

    @Test
    void shapeMismatchNamesTheTensorAndBothShapes() throws IOException {
        Path bad = GgufTestModels.rewrite(GgufTestModels.writeLlama(dir, "good.gguf"), dir.resolve("shape.gguf"),
                edit -> edit.set("llama.feed_forward_length", GgufValue.uint32(128)));
        assertThat(fails(bad, Problem.MALFORMED).getMessage())
                .contains("tensor 'blk.0.ffn_gate.weight'").contains("[64, 96]").contains("[64, 128]");
    }

    @Test
    void tensorTheDecoderWouldIgnoreIsRefused() throws IOException {
        // Q/K norms (Qwen3, OLMo2) are not part of a llama decoder: running without them would be another model
        Path bad = GgufTestModels.rewrite(GgufTestModels.writeLlama(dir, "good.gguf"), dir.resolve("qk-norm.gguf"),
                edit -> edit.addTensor("blk.0.attn_q_norm.weight", new float[16]));
        assertThat(fails(bad, Problem.UNSUPPORTED).getMessage()).contains("tensor 'blk.0.attn_q_norm.weight'")
                .contains("different model");
    }

    /** Llama 3.1+ RoPE scaling: rope_freqs.weight divides each pair's frequency, in the graph and the reference alike. */
    @Test
    void ropeFrequencyFactorsOfLlama3FilesScaleTheRotation() throws IOException {
        float[] factors = {1, 1, 1, 1.5f, 2, 4, 8, 8};
        Path file = GgufTestModels.rewrite(GgufTestModels.writeLlama(dir, "good.gguf"), dir.resolve("llama3.gguf"),
                edit -> edit.addTensor("rope_freqs.weight", factors));
        LoadedModel model = LoadedModel.load(file, null);
        LlamaConfig config = model.weights().config();
        assertThat(config.ropeFrequencyFactors()).containsExactly(1f, 1f, 1f, 1.5f, 2f, 4f, 8f, 8f);
        for (int j = 0; j < factors.length; j++) {
            double plain = 1.0 / Math.pow(10000, 2.0 * j / 16);
            assertThat((double) io.tandem.model.onnx.RotaryTables.frequency(config, j))
                    .isCloseTo(plain / factors[j], org.assertj.core.api.Assertions.within(1e-7));
        }
        long[] tokens = {1, 40, 77, 12, 290, 5, 9};
        ReferenceForward reference = new ReferenceForward(model.weights());
        float[] expected = null;
        for (long t : tokens) {
            expected = reference.forward((int) t);
        }
        float[] actual = lastLogits(model, WeightPrecision.FP32, tokens);
        assertThat(maxDifference(actual, expected)).isLessThan(1e-4f);
        // and the factors matter: without them the logits differ
        LoadedModel plain = LoadedModel.load(dir.resolve("good.gguf"), null);
        assertThat(maxDifference(lastLogits(plain, WeightPrecision.FP32, tokens), actual)).isGreaterThan(1e-3f);

        Path wrong = GgufTestModels.rewrite(dir.resolve("good.gguf"), dir.resolve("wrong-freqs.gguf"),
                edit -> edit.addTensor("rope_freqs.weight", new float[] {1, 2}));
        assertThat(fails(wrong, Problem.MALFORMED).getMessage()).contains("tensor 'rope_freqs.weight'").contains("[8]");
    }

    @Test
    void partialRotaryIsRefusedNamingTheKey() throws IOException {
        Path bad = GgufTestModels.rewrite(GgufTestModels.writeLlama(dir, "good.gguf"), dir.resolve("partial.gguf"),
                edit -> edit.set("llama.rope.dimension_count", GgufValue.uint32(8)));
        assertThat(fails(bad, Problem.UNSUPPORTED).getMessage()).contains("'llama.rope.dimension_count' is 8");
    }

    @Test
    void vocabularyOfAnotherSizeThanTheEmbeddingNamesTheTensor() throws IOException {
        Path bad = GgufTestModels.rewrite(GgufTestModels.writeLlama(dir, "good.gguf"), dir.resolve("vocab.gguf"),
                edit -> GgufTestModels.llamaVocabulary(299).forEach(edit::set));
        assertThat(fails(bad, Problem.MALFORMED).getMessage()).contains("tensor 'token_embd.weight'")
                .contains("[64, 300]").contains("[64, 299]");
    }

    private static GgufException fails(Path file, Problem problem) {
        GgufException e = catchThrowableOfType(GgufException.class, () -> LoadedModel.load(file, null));
        assertThat(e).as("loading " + file).isNotNull();
        assertThat(e.problem()).as(e.getMessage()).isEqualTo(problem);
        assertThat(e.getMessage()).startsWith(file.toString());
        return e;
    }

    // ---------------------------------------------------------------- helpers

    private static int[] referenceGreedy(LlamaWeights weights, int[] prompt, int steps, Set<Integer> endTokens) {
        ReferenceForward forward = new ReferenceForward(weights);
        int[] ids = Arrays.copyOf(prompt, prompt.length + steps);
        float[] logits = null;
        for (int id : prompt) {
            logits = forward.forward(id);
        }
        int n = prompt.length;
        for (int s = 0; s < steps; s++) {
            int best = 0;
            for (int v = 1; v < logits.length; v++) {
                if (logits[v] > logits[best]) {
                    best = v;
                }
            }
            if (endTokens.contains(best)) {
                break;
            }
            ids[n++] = best;
            if (s < steps - 1) {
                logits = forward.forward(best);
            }
        }
        return Arrays.copyOf(ids, n);
    }

    private static float[] copy(FloatBuffer buffer) {
        float[] out = new float[buffer.remaining()];
        buffer.duplicate().get(out);
        return out;
    }

    private static float maxDifference(float[] a, float[] b) {
        assertThat(a).hasSameSizeAs(b);
        float max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }
}
