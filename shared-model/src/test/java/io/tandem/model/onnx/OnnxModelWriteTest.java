package io.tandem.model.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.model.llama.LlamaWeights;
import io.tandem.model.llama.RandomWeights;
import io.tandem.model.llama.RopeLayout;
import io.tandem.model.runtime.GraphSession;
import io.tandem.model.runtime.KvSequence;
import io.tandem.model.runtime.RuntimeOptions;
import io.tandem.model.runtime.StageInput;
import io.tandem.model.runtime.StageOutput;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** A model written with external data (as every model over 1 GiB is) loads and computes what the inline one does. */
class OnnxModelWriteTest {

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(GraphFlavour.class)
    void externalDataModelsComputeLikeInlineOnes(GraphFlavour flavour) throws IOException {
        LlamaWeights weights = RandomWeights.create(GraphVsReferenceTest.config(RopeLayout.HALVES, true, true, true), 4);
        GraphSpec spec = GraphSpec.whole(weights.config(), WeightPrecision.INT4, flavour);
        OnnxModel model = DecoderGraphBuilder.build(weights, spec);
        Path file = dir.resolve(flavour.label() + ".onnx");
        List<Path> written = model.write(file, true);
        assertThat(written).containsExactly(file, dir.resolve(flavour.label() + ".onnx.data"));
        assertThat(Files.size(file)).isLessThan(Files.size(written.get(1)));

        long[] tokens = {1, 7, 3, 9};
        try (GraphSession inline = GraphTesting.open(weights, spec);
             GraphSession external = GraphSession.open(file, spec, weights.config(), RuntimeOptions.threads(1));
             KvSequence a = inline.newSequence();
             KvSequence b = external.newSequence()) {
            float[] expected = GraphTesting.copy(((StageOutput.Logits) a.run(new StageInput.Tokens(tokens))).values());
            StageOutput.Logits actual = (StageOutput.Logits) b.run(new StageInput.Tokens(tokens));
            assertThat(GraphTesting.maxAbsDifference(actual.values(), expected)).isZero();
        }
    }
}
