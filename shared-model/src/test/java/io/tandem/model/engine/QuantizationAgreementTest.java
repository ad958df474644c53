package io.tandem.model.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.model.generate.GenerationRequest;
import io.tandem.model.llama.LlamaConfig;
import io.tandem.model.onnx.ActivationPrecision;
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
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Top-1 agreement of int8 and int4 graphs with fp32 on the embedded model, over fp32 greedy
 * continuations of varied prompts (teacher-forced: at every position both see the same prefix).
 * The measured rates are printed for the issue note and docs/BENCHMARKS.md.
 */
class QuantizationAgreementTest {

    static final List<String> PROMPTS = List.of("", "Once upon a time", "Lily and Tom went to the park",
            "The cat sat", "One day, a little girl named Sue", "The big dog was sad because",
            "Ben wanted to fly", "Mom said", "In the forest there was a tiny bird", "The sun was hot and");
    static final int TOKENS_PER_PROMPT = 150;

    static LoadedModel model;
    static List<int[]> sequences;
    static int steps;

    @BeforeAll
    static void generateFp32References() {
        model = LoadedModel.embedded();
        sequences = new ArrayList<>();
        try (Engine fp32 = Engine.open(model, new EngineOptions(WeightPrecision.FP32, GraphFlavour.FAST, 0,
                RuntimeOptions.threads(1)))) {
            for (String prompt : PROMPTS) {
                int[] ids = fp32.generate(new GenerationRequest(model.encodePrompt(prompt), TOKENS_PER_PROMPT,
                        List.of(), SamplingParams.greedy())).allIds();
                sequences.add(ids);
                steps += ids.length - 1;
            }
        }
        assertThat(steps).isGreaterThanOrEqualTo(1000);
    }

    @ParameterizedTest
    @CsvSource({"INT8,FAST,INT8,0.99", "INT8,PORTABLE,INT8,0.99", "INT8,FAST,FP32,0.99", "INT8,PORTABLE,FP32,0.99",
                "INT4,FAST,INT8,0.80", "INT4,PORTABLE,INT8,0.80", "INT4,FAST,FP32,0.80", "INT4,PORTABLE,FP32,0.80"})
    void topOneAgreementWithFp32(WeightPrecision precision, GraphFlavour flavour, ActivationPrecision activations,
                                 double floor) {
        LlamaConfig config = model.weights().config();
        GraphSpec reference = GraphSpec.whole(config, WeightPrecision.FP32, flavour).withAllPositionLogits(true);
        GraphSpec quantized = GraphSpec.whole(config, precision, flavour).withAllPositionLogits(true)
                .withActivations(activations);
        int agree = 0;
        try (GraphSession fp32 = open(reference); GraphSession q = open(quantized)) {
            for (int[] ids : sequences) {
                int[] expected = argmaxPerPosition(fp32, ids, config.vocabSize());
                int[] actual = argmaxPerPosition(q, ids, config.vocabSize());
                for (int i = 0; i < expected.length; i++) {
                    agree += expected[i] == actual[i] ? 1 : 0;
                }
            }
        }
        double rate = (double) agree / steps;
        System.out.printf("quantization agreement: %s weights, %s activations, %s: top-1 = %.4f (%d of %d steps)%n",
                precision.label(), activations.label(), flavour.label(), rate, agree, steps);
        assertThat(rate).isGreaterThanOrEqualTo(floor).isLessThanOrEqualTo(1.0);
    }

    private static GraphSession open(GraphSpec spec) {
        return GraphSession.open(DecoderGraphBuilder.build(model.weights(), spec), spec, model.weights().config(),
                RuntimeOptions.threads(1));
    }

    /** Argmax of the logits at every position but the last: the prediction of each next token. */
    private static int[] argmaxPerPosition(GraphSession session, int[] ids, int vocab) {
        long[] tokens = new long[ids.length - 1];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = ids[i];
        }
        try (KvSequence seq = session.newSequence()) {
            FloatBuffer logits = ((StageOutput.Logits) seq.run(new StageInput.Tokens(tokens))).values();
            int[] out = new int[tokens.length];
            for (int p = 0; p < tokens.length; p++) {
                int best = 0;
                for (int v = 1; v < vocab; v++) {
                    if (logits.get(p * vocab + v) > logits.get(p * vocab + best)) {
                        best = v;
                    }
                }
                out[p] = best;
            }
            return out;
        }
    }
}
