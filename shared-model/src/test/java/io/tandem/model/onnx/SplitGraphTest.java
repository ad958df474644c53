package io.tandem.model.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.model.engine.LoadedModel;
import io.tandem.model.llama.LlamaWeights;
import io.tandem.model.llama.RandomWeights;
import io.tandem.model.llama.RopeLayout;
import io.tandem.model.runtime.GraphSession;
import io.tandem.model.runtime.KvSequence;
import io.tandem.model.runtime.StageInput;
import io.tandem.model.runtime.StageOutput;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Two partitions handing the residual stream across as bytes give the whole graph's logits. */
class SplitGraphTest {

    @ParameterizedTest
    @CsvSource({"ADJACENT_PAIRS,PORTABLE", "ADJACENT_PAIRS,FAST", "HALVES,PORTABLE", "HALVES,FAST"})
    void everySplitPointReproducesWholeModelLogits(RopeLayout layout, GraphFlavour flavour) {
        assertSplitsMatchWhole(RandomWeights.create(
                GraphVsReferenceTest.config(layout, layout == RopeLayout.HALVES, true, true), 5), flavour);
    }

    @ParameterizedTest
    @CsvSource({"PORTABLE", "FAST"})
    void embeddedModelSplitsMatchWholeModelLogits(GraphFlavour flavour) {
        assertSplitsMatchWhole(LoadedModel.embedded().weights(), flavour);
    }

    private static void assertSplitsMatchWhole(LlamaWeights weights, GraphFlavour flavour) {
        int layers = weights.config().layers();
        GraphSpec whole = GraphSpec.whole(weights.config(), WeightPrecision.FP32, flavour);
        long[][] steps = {{1, 8, 15, 22}, {30}, {2}, {41}};
        float[][] expected = new float[steps.length][];
        try (GraphSession session = GraphTesting.open(weights, whole); KvSequence seq = session.newSequence()) {
            for (int s = 0; s < steps.length; s++) {
                expected[s] = GraphTesting.copy(((StageOutput.Logits) seq.run(new StageInput.Tokens(steps[s]))).values());
            }
        }
        for (int k = 1; k < layers; k++) {
            try (GraphSession edge = GraphTesting.open(weights, whole.withRange(0, k));
                 GraphSession cloud = GraphTesting.open(weights, whole.withRange(k, layers));
                 KvSequence edgeSeq = edge.newSequence();
                 KvSequence cloudSeq = cloud.newSequence()) {
                for (int s = 0; s < steps.length; s++) {
                    StageOutput.Hidden hidden = (StageOutput.Hidden) edgeSeq.run(new StageInput.Tokens(steps[s]));
                    StageOutput.Logits logits = (StageOutput.Logits) cloudSeq.run(
                            new StageInput.Hidden(hidden.bytes(), hidden.positions()));
                    assertThat(GraphTesting.maxAbsDifference(logits.values(), expected[s]))
                            .as("split at %d, step %d", k, s).isLessThanOrEqualTo(1e-5f);
                }
            }
        }
    }
}
