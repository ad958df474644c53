package io.tandem.model.manifest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tandem.model.engine.Engine;
import io.tandem.model.engine.EngineOptions;
import io.tandem.model.engine.LoadedModel;
import io.tandem.model.onnx.DecoderGraphBuilder;
import io.tandem.model.onnx.GraphFlavour;
import io.tandem.model.onnx.GraphSpec;
import io.tandem.model.onnx.WeightPrecision;
import io.tandem.model.runtime.RuntimeOptions;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ModelManifestTest {

    static LoadedModel model;

    @BeforeAll
    static void load() {
        model = LoadedModel.embedded();
    }

    static ModelManifest manifest(GraphSpec spec) {
        return Engine.manifest(model, spec, DecoderGraphBuilder.build(model.weights(), spec));
    }

    @Test
    void describesTheGraphAndRoundTripsThroughJson() {
        GraphSpec spec = new GraphSpec(0, 2, WeightPrecision.INT4, GraphFlavour.FAST, false);
        ModelManifest m = manifest(spec);
        assertThat(m.modelName()).isEqualTo("stories260K");
        assertThat(m.sourceSha256()).isEqualTo("b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696");
        assertThat(m.architecture()).isEqualTo(model.weights().config());
        assertThat(m.firstLayer()).isZero();
        assertThat(m.endLayer()).isEqualTo(2);
        assertThat(m.input()).isEqualTo("input_ids");
        assertThat(m.output()).isEqualTo("hidden_out");
        assertThat(m.activations()).isEqualTo("int8");
        assertThat(m.quantization().bits()).isEqualTo(4);
        assertThat(m.quantization().blockSize()).isEqualTo(32);
        assertThat(m.quantization().zeroPoint()).isEqualTo(8);
        assertThat(m.attentionKernel()).isEqualTo("rotary_embedding");
        assertThat(m.graphSha256()).hasSize(64);
        assertThat(ModelManifest.fromJson(m.toJson())).isEqualTo(m);
    }

    @Test
    void rebuildingFromTheSameInputsGivesTheSameGraphHash() {
        GraphSpec spec = new GraphSpec(1, 4, WeightPrecision.INT8, GraphFlavour.PORTABLE, false);
        String first = manifest(spec).graphSha256();
        assertThat(manifest(spec).graphSha256()).isEqualTo(first);
        assertThat(manifest(spec.withRange(1, 5)).graphSha256()).isNotEqualTo(first);
        assertThat(manifest(new GraphSpec(1, 4, WeightPrecision.INT4, GraphFlavour.PORTABLE, false)).graphSha256())
                .isNotEqualTo(first);
    }

    @Test
    void partitionsThatDoNotBelongTogetherAreRefused() {
        GraphSpec whole = GraphSpec.whole(model.weights().config(), WeightPrecision.FP32, GraphFlavour.FAST);
        ModelManifest edge = manifest(whole.withRange(0, 2));
        ModelManifest cloud = manifest(whole.withRange(2, 5));
        cloud.requireContinues(edge);
        // an int4 edge half may feed an fp32 cloud half of the same weights
        manifest(new GraphSpec(2, 5, WeightPrecision.INT4, GraphFlavour.PORTABLE, false)).requireContinues(edge);

        assertThatThrownBy(() -> manifest(whole.withRange(3, 5)).requireContinues(edge))
                .isInstanceOf(ManifestMismatchException.class).hasMessageContaining("0..2").hasMessageContaining("3..5");
        ModelManifest otherWeights = new ModelManifest(cloud.manifestVersion(), cloud.modelName(), cloud.sourceFormat(),
                "0".repeat(64), cloud.architecture(), cloud.firstLayer(), cloud.endLayer(), cloud.input(), cloud.output(),
                cloud.allPositionLogits(), cloud.precision(), cloud.activations(), cloud.quantization(), cloud.flavour(), cloud.attentionKernel(),
                cloud.builderVersion(), cloud.onnxOpset(), cloud.graphSha256(), cloud.sourceConversions());
        assertThatThrownBy(() -> otherWeights.requireContinues(edge)).hasMessageContaining("different weights");
    }

    @Test
    void malformedOrFutureManifestsAreRefused() {
        assertThatThrownBy(() -> ModelManifest.fromJson("{not json")).isInstanceOf(ManifestMismatchException.class);
        String future = manifest(GraphSpec.whole(model.weights().config(), WeightPrecision.FP32, GraphFlavour.FAST))
                .toJson().replace("\"manifestVersion\" : 1", "\"manifestVersion\" : 99");
        assertThatThrownBy(() -> ModelManifest.fromJson(future)).hasMessageContaining("99");
    }

    @Test
    void engineChecksItsOwnPartitions() {
        try (Engine engine = Engine.open(model, new EngineOptions(WeightPrecision.FP32, GraphFlavour.FAST, 3,
                RuntimeOptions.threads(1)))) {
            List<ModelManifest> m = engine.manifests();
            assertThat(m).hasSize(2);
            assertThat(m.get(0).endLayer()).isEqualTo(3);
            assertThat(m.get(1).firstLayer()).isEqualTo(3);
            assertThat(m.get(1).output()).isEqualTo("logits");
            assertThat(engine.config().layers()).isEqualTo(5);
        }
    }
}
