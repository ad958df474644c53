package io.tandem.model.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.model.llama.LlamaWeights;
import io.tandem.model.llama.Matrix;
import io.tandem.model.llama.RandomWeights;
import io.tandem.model.llama.RopeLayout;
import io.tandem.model.reference.ReferenceForward;
import io.tandem.model.runtime.GraphSession;
import io.tandem.model.runtime.KvSequence;
import io.tandem.model.runtime.StageInput;
import io.tandem.model.runtime.StageOutput;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Quantized graphs compute exactly the model their dequantized weights describe: both flavours
 * (MatMulNBits and blocked DequantizeLinear) are checked against the reference forward pass run on
 * the dequantized weights.
 */
class QuantizedGraphTest {

    @ParameterizedTest
    @CsvSource({"INT8,PORTABLE", "INT8,FAST", "INT4,PORTABLE", "INT4,FAST"})
    void quantizedGraphMatchesReferenceOnDequantizedWeights(WeightPrecision precision, GraphFlavour flavour) {
        for (boolean wideHeads : new boolean[] {false, true}) {
            LlamaWeights weights = RandomWeights.create(
                    GraphVsReferenceTest.config(RopeLayout.ADJACENT_PAIRS, false, true, wideHeads), 11);
            ReferenceForward reference = new ReferenceForward(GraphTesting.dequantizedTwin(weights, precision));
            GraphSpec spec = GraphSpec.whole(weights.config(), precision, flavour).withActivations(ActivationPrecision.FP32);
            try (GraphSession session = GraphTesting.open(weights, spec); KvSequence seq = session.newSequence()) {
                for (long token : new long[] {1, 9, 27, 4, 33, 12}) {
                    float[] expected = reference.forward((int) token);
                    StageOutput.Logits logits = (StageOutput.Logits) seq.run(new StageInput.Tokens(new long[] {token}));
                    assertThat(GraphTesting.maxAbsDifference(logits.values(), expected)).isLessThan(2e-4f);
                }
            }
        }
    }

    /** int8 activations (the fast default) stay close to the exact computation, and both flavours agree. */
    @ParameterizedTest
    @CsvSource({"INT8", "INT4"})
    void int8ActivationsStayCloseToExactAndFlavoursAgree(WeightPrecision precision) {
        LlamaWeights weights = RandomWeights.create(
                GraphVsReferenceTest.config(RopeLayout.ADJACENT_PAIRS, false, true, true), 11);
        ReferenceForward reference = new ReferenceForward(GraphTesting.dequantizedTwin(weights, precision));
        GraphSpec fast = GraphSpec.whole(weights.config(), precision, GraphFlavour.FAST);
        GraphSpec portable = GraphSpec.whole(weights.config(), precision, GraphFlavour.PORTABLE);
        assertThat(fast.activations()).isEqualTo(ActivationPrecision.INT8);
        try (GraphSession f = GraphTesting.open(weights, fast); GraphSession p = GraphTesting.open(weights, portable);
             KvSequence fs = f.newSequence(); KvSequence ps = p.newSequence()) {
            for (long token : new long[] {1, 9, 27, 4, 33, 12}) {
                float[] exact = reference.forward((int) token);
                float[] fastLogits = GraphTesting.copy(((StageOutput.Logits) fs.run(new StageInput.Tokens(new long[] {token}))).values());
                StageOutput.Logits portableLogits = (StageOutput.Logits) ps.run(new StageInput.Tokens(new long[] {token}));
                float spread = 0;
                for (float v : exact) {
                    spread = Math.max(spread, Math.abs(v));
                }
                float error = GraphTesting.maxAbsDifference(java.nio.FloatBuffer.wrap(fastLogits), exact);
                assertThat(error).as("int8 activations error").isGreaterThan(0f).isLessThan(0.05f * spread);
                // The flavours reach different int8 kernels on some CPUs (AVX512-VNNI/AMX versus AVX2), each
                // quantizing activations its own way: they agree within half the error bound each has against the exact computation.
                assertThat(GraphTesting.maxAbsDifference(portableLogits.values(), fastLogits))
                        .as("flavour disagreement against a logit spread of %s", spread).isLessThan(0.025f * spread);
            }
        }
    }

    @Test
    void quantizationErrorIsBoundedAndExtremesAreExact() {
        SplittableRandom random = new SplittableRandom(3);
        // 70 columns: the last block of each row is partial, as in stories260K's 172-wide FFN.
        float[] data = new float[5 * 70];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) random.nextGaussian();
        }
        Matrix w = new Matrix("w", 5, 70, data);
        for (WeightPrecision p : new WeightPrecision[] {WeightPrecision.INT8, WeightPrecision.INT4}) {
            BlockQuantized q = BlockQuantized.quantize(w, p);
            assertThat(q.blocksPerRow()).isEqualTo(3);
            for (int r = 0; r < 5; r++) {
                for (int c = 0; c < 70; c++) {
                    float step = Math.abs(q.scale(r, c / WeightPrecision.BLOCK_SIZE));
                    // int4 spends code 0 on the block's extreme, so the opposite end clamps at +7: one step.
                    float bound = p == WeightPrecision.INT8 ? step / 2 : step;
                    assertThat(Math.abs(q.dequantized(r, c) - w.get(r, c))).isLessThanOrEqualTo(bound + 1e-6f);
                }
                for (int b = 0; b < 3; b++) {
                    int extremeCol = b * 32;
                    for (int c = b * 32; c < Math.min(70, b * 32 + 32); c++) {
                        if (Math.abs(w.get(r, c)) > Math.abs(w.get(r, extremeCol))) {
                            extremeCol = c;
                        }
                    }
                    assertThat(q.dequantized(r, extremeCol)).isCloseTo(w.get(r, extremeCol),
                            org.assertj.core.data.Offset.offset(1e-6f));
                }
            }
        }
    }
}
