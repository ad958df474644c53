package io.tandem.model.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.model.generate.FinishReason;
import io.tandem.model.generate.GenerationRequest;
import io.tandem.model.generate.GenerationResult;
import io.tandem.model.gguf.GgmlType;
import io.tandem.model.gguf.GgufModelWriter;
import io.tandem.model.llama.LayerWeights;
import io.tandem.model.llama.LlamaWeights;
import io.tandem.model.llama.Matrix;
import io.tandem.model.manifest.ModelManifest;
import io.tandem.model.onnx.ActivationPrecision;
import io.tandem.model.onnx.BlockQuantized;
import io.tandem.model.onnx.DecoderGraphBuilder;
import io.tandem.model.onnx.GraphFlavour;
import io.tandem.model.onnx.GraphSpec;
import io.tandem.model.onnx.WeightPrecision;
import io.tandem.model.runtime.GraphSession;
import io.tandem.model.runtime.KvSequence;
import io.tandem.model.runtime.RuntimeOptions;
import io.tandem.model.runtime.StageInput;
import io.tandem.model.runtime.StageOutput;
import io.tandem.model.sampling.SamplingParams;
import io.tandem.model.tokenizer.Llama2cTokenizer;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The embedded stories260K written as GGUF (what {@code bin/tandem convert} does) and loaded back: as F32
 * it is the same model, giving llama2.c's own greedy ids and text, whole and split; as Q8_0 and Q4_0 its
 * top-1 agreement with F32 is measured (printed for docs/BENCHMARKS.md); Q4_0 blocks reach an int4 graph
 * unchanged.
 */
class GgufConvertedModelTest {

    @TempDir
    static Path dir;

    static LoadedModel llama2c;
    static LoadedModel f32;
    static LoadedModel q8;
    static LoadedModel q4;

    @BeforeAll
    static void convert() throws IOException {
        llama2c = LoadedModel.embedded();
        f32 = convert(GgmlType.F32);
        q8 = convert(GgmlType.Q8_0);
        q4 = convert(GgmlType.Q4_0);
    }

    static LoadedModel convert(GgmlType type) throws IOException {
        Llama2cTokenizer tokenizer = ((ModelTokenizer.Llama2c) llama2c.tokenizer()).tokenizer();
        Path file = dir.resolve("stories260K-" + type.name().toLowerCase() + ".gguf");
        GgufModelWriter.write(file, "stories260K", llama2c.weights(), GgufModelWriter.llama2cVocabulary(tokenizer), type);
        return LoadedModel.load(file, null);
    }

    @Test
    void f32FileHoldsTheSameModelBitForBit() {
        assertThat(f32.weights().config()).isEqualTo(llama2c.weights().config());
        List<Matrix> expected = matrices(llama2c.weights());
        List<Matrix> actual = matrices(f32.weights());
        assertThat(actual).hasSameSizeAs(expected);
        for (int i = 0; i < expected.size(); i++) {
            assertThat(actual.get(i).name()).isEqualTo(expected.get(i).name());
            assertThat(actual.get(i).data()).as(expected.get(i).name()).containsExactly(expected.get(i).data());
        }
        // same weights under the same names: the very same graph, byte for byte
        for (WeightPrecision precision : WeightPrecision.values()) {
            GraphSpec spec = GraphSpec.whole(f32.weights().config(), precision, GraphFlavour.FAST);
            assertThat(DecoderGraphBuilder.build(f32.weights(), spec, f32.weightSource()).sha256())
                    .isEqualTo(DecoderGraphBuilder.build(llama2c.weights(), spec).sha256());
        }
        assertThat(f32.name()).isEqualTo("stories260K-f32");
        assertThat(f32.sourceFormat()).isEqualTo("gguf v3 (F32 47)");
        assertThat(f32.tokenizer()).isInstanceOf(ModelTokenizer.Gguf.class);
    }

    @ParameterizedTest(name = "{0} split {1}")
    @CsvSource({"FAST,0", "FAST,1", "FAST,2", "FAST,3", "FAST,4", "PORTABLE,0", "PORTABLE,3"})
    void f32GgufGivesLlama2cGreedyIdsAndText(GraphFlavour flavour, int split) {
        try (Engine engine = Engine.open(f32, new EngineOptions(WeightPrecision.FP32, flavour, split,
                RuntimeOptions.threads(1)))) {
            int[] expected = Goldens.greedyFromBos();
            GenerationResult fromBos = engine.generate(new GenerationRequest(f32.encodePrompt(""), expected.length - 1,
                    List.of(), SamplingParams.greedy()));
            assertThat(fromBos.allIds()).containsExactly(expected);
            assertThat(fromBos.text()).isEqualTo(Goldens.resource("expected-greedy-256.txt"));

            for (Goldens.PromptGolden golden : Goldens.prompts()) {
                // the GGUF's SentencePiece tokenizer encodes these prompts as run.c does
                int[] prompt = f32.encodePrompt(golden.prompt());
                assertThat(prompt).as(golden.prompt()).containsExactly(llama2c.encodePrompt(golden.prompt()));
                GenerationResult result = engine.generate(new GenerationRequest(prompt, 257 - prompt.length, List.of(),
                        SamplingParams.greedy()));
                // a generated BOS ends the story (the converted file's EOT), as it ends run.c
                assertThat(result.allIds()).as(golden.prompt()).containsExactly(golden.ids());
                assertThat(result.finishReason()).isEqualTo(golden.ids().length == 257
                        ? FinishReason.MAX_TOKENS : FinishReason.END_OF_SEQUENCE);
            }
        }
    }

    @Test
    void q4_0BlocksReachAnInt4GraphUnchanged() {
        assertThat(q4.sourceFormat()).isEqualTo("gguf v3 (Q4_0 31, F32 16)");
        // every stored Q4_0 projection is the file's codes and scales: they stand for exactly the dequantized weights
        int exact = 0;
        for (Matrix m : matrices(q4.weights())) {
            BlockQuantized blocks = q4.weightSource().exactBlocks().get(m.name());
            if (blocks != null) {
                exact++;
                assertThat(blocks.precision()).isEqualTo(WeightPrecision.INT4);
                assertThat(blocks.dequantize(m.name()).data()).as(m.name()).containsExactly(m.data());
            }
        }
        // 5 layers x (q, k, v, o, gate, up) and the tied embedding; ffn_down's rows of 172 stay F32
        assertThat(exact).isEqualTo(31);

        // with fp32 activations, the int4 graph computes the file's weights (and ffn_down, stored F32, quantized
        // to int4 here): the logits of an fp32 graph over those very weights
        List<LayerWeights> layers = new ArrayList<>();
        for (LayerWeights l : q4.weights().layers()) {
            Matrix down = BlockQuantized.quantize(l.w2Down(), WeightPrecision.INT4).dequantize(l.w2Down().name());
            layers.add(new LayerWeights(l.attentionNorm(), l.wq(), l.wk(), l.wv(), l.wo(), l.bq(), l.bk(), l.bv(),
                    l.ffnNorm(), l.w1Gate(), down, l.w3Up()));
        }
        LlamaWeights w = q4.weights();
        LoadedModel twin = new LoadedModel("twin", new LlamaWeights(w.config(), w.tokenEmbedding(), layers, w.finalNorm(),
                w.classifier()), "test", q4.sourceSha256(), q4.tokenizer());
        List<int[]> sequences = List.of(Goldens.greedyFromBos());
        Logits fp32 = logits(twin, WeightPrecision.FP32, ActivationPrecision.FP32, sequences);
        Logits int4 = logits(q4, WeightPrecision.INT4, ActivationPrecision.FP32, sequences);
        float max = 0;
        for (int i = 0; i < fp32.values().length; i++) {
            max = Math.max(max, Math.abs(fp32.values()[i] - int4.values()[i]));
        }
        assertThat(max).isLessThan(1e-4f);

        ModelManifest manifest = Engine.manifest(q4, GraphSpec.whole(q4.weights().config(), WeightPrecision.INT4,
                GraphFlavour.FAST), DecoderGraphBuilder.build(q4.weights(), GraphSpec.whole(q4.weights().config(),
                WeightPrecision.INT4, GraphFlavour.FAST), q4.weightSource()));
        assertThat(manifest.sourceConversions()).containsExactly(
                "Q4_0 -> dequantized to fp32: 1 token embedding",
                "F32 -> fp32 as stored: 11 norms",
                "Q4_0 -> int4, stored blocks used as they are: 30 projections, 1 classifier",
                "F32 -> quantized to int4: 5 projections");
        assertThat(Engine.manifest(q4, GraphSpec.whole(q4.weights().config(), WeightPrecision.INT8, GraphFlavour.FAST),
                DecoderGraphBuilder.build(q4.weights(), GraphSpec.whole(q4.weights().config(), WeightPrecision.INT8,
                        GraphFlavour.FAST), q4.weightSource())).sourceConversions())
                .contains("Q4_0 -> dequantized to fp32, requantized to int8: 30 projections, 1 classifier");
    }

    @Test
    void q8_0BlocksReachAnInt8GraphUnchanged() {
        for (Matrix m : matrices(q8.weights())) {
            BlockQuantized blocks = q8.weightSource().exactBlocks().get(m.name());
            if (blocks != null) {
                assertThat(blocks.precision()).isEqualTo(WeightPrecision.INT8);
                assertThat(blocks.dequantize(m.name()).data()).as(m.name()).containsExactly(m.data());
            }
        }
        assertThat(q8.weightSource().exactBlocks()).hasSize(31);
    }

    /**
     * Top-1 agreement of the Q8_0 and Q4_0 files (computed in fp32 on their dequantized weights) with the F32
     * file, teacher-forced over the same continuations as QuantizationAgreementTest; rates go to
     * docs/BENCHMARKS.md.
     */
    @ParameterizedTest
    @CsvSource({"Q8_0,FP32,FP32,0.98", "Q8_0,INT8,FP32,0.98", "Q4_0,FP32,FP32,0.80", "Q4_0,INT4,FP32,0.80",
                "Q4_0,INT4,INT8,0.80"})
    void quantizedFilesAgreeWithF32(GgmlType type, WeightPrecision precision, ActivationPrecision activations,
                                    double floor) {
        LoadedModel quantized = type == GgmlType.Q8_0 ? q8 : q4;
        List<int[]> sequences = new ArrayList<>();
        try (Engine engine = Engine.open(f32, new EngineOptions(WeightPrecision.FP32, GraphFlavour.FAST, 0,
                RuntimeOptions.threads(1)))) {
            for (String prompt : QuantizationAgreementTest.PROMPTS) {
                sequences.add(engine.generate(new GenerationRequest(f32.encodePrompt(prompt),
                        QuantizationAgreementTest.TOKENS_PER_PROMPT, List.of(), SamplingParams.greedy())).allIds());
            }
        }
        int vocab = f32.weights().config().vocabSize();
        int[] expected = logits(f32, WeightPrecision.FP32, ActivationPrecision.FP32, sequences).argmax(vocab);
        int[] actual = logits(quantized, precision, activations, sequences).argmax(vocab);
        int agree = 0;
        for (int i = 0; i < expected.length; i++) {
            agree += expected[i] == actual[i] ? 1 : 0;
        }
        double rate = (double) agree / expected.length;
        System.out.printf("GGUF agreement: %s file, %s weights, %s activations: top-1 = %.4f (%d of %d steps)%n",
                type, precision.label(), activations.label(), rate, agree, expected.length);
        assertThat(rate).isGreaterThanOrEqualTo(floor);
    }

    /** Logits at every position but the last of each sequence, one after another. */
    record Logits(float[] values) {
        int[] argmax(int vocab) {
            int[] out = new int[values.length / vocab];
            for (int p = 0; p < out.length; p++) {
                int best = 0;
                for (int v = 1; v < vocab; v++) {
                    if (values[p * vocab + v] > values[p * vocab + best]) {
                        best = v;
                    }
                }
                out[p] = best;
            }
            return out;
        }
    }

    private static Logits logits(LoadedModel model, WeightPrecision precision, ActivationPrecision activations,
                                             List<int[]> sequences) {
        GraphSpec spec = GraphSpec.whole(model.weights().config(), precision, GraphFlavour.FAST)
                .withAllPositionLogits(true).withActivations(activations);
        List<float[]> parts = new ArrayList<>();
        int total = 0;
        try (GraphSession session = GraphSession.open(DecoderGraphBuilder.build(model.weights(), spec,
                model.weightSource()), spec, model.weights().config(), RuntimeOptions.threads(1))) {
            for (int[] ids : sequences) {
                long[] tokens = new long[ids.length - 1];
                for (int i = 0; i < tokens.length; i++) {
                    tokens[i] = ids[i];
                }
                try (KvSequence seq = session.newSequence()) {
                    FloatBuffer logits = ((StageOutput.Logits) seq.run(new StageInput.Tokens(tokens))).values();
                    float[] copy = new float[logits.remaining()];
                    logits.duplicate().get(copy);
                    parts.add(copy);
                    total += copy.length;
                }
            }
        }
        float[] all = new float[total];
        int at = 0;
        for (float[] part : parts) {
            System.arraycopy(part, 0, all, at, part.length);
            at += part.length;
        }
        return new Logits(all);
    }

    static List<Matrix> matrices(LlamaWeights w) {
        List<Matrix> all = new ArrayList<>();
        all.add(w.tokenEmbedding());
        for (LayerWeights l : w.layers()) {
            all.addAll(List.of(l.attentionNorm(), l.wq(), l.wk(), l.wv(), l.wo(), l.ffnNorm(), l.w1Gate(), l.w2Down(),
                    l.w3Up()));
        }
        all.add(w.finalNorm());
        if (w.classifier() != null) {
            all.add(w.classifier());
        }
        return all;
    }
}
