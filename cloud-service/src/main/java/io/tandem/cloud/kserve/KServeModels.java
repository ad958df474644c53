package io.tandem.cloud.kserve;

import io.tandem.cloud.pool.PoolModel;
import io.tandem.model.export.TritonModelConfig;
import io.tandem.model.onnx.GraphNames;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The KServe v2 models a pool's layers appear as: for every served model and every first layer k,
 * the range [k, L) under the name {@code bin/tandem export --triton} gives it
 * ({@link TritonModelConfig#modelName}), with the exported graph's tensors: {@code input_ids}
 * (INT64 [1, -1]) or {@code hidden_in} (FP32 [1, -1, dim]) in, {@code logits} (FP32 [1, vocab]) out.
 */
public final class KServeModels {

    /** One KServe model: a layer range of a served model. */
    public record Range(String name, PoolModel model, int firstLayer) {
        public boolean takesTokens() {
            return firstLayer == 0;
        }

        public String inputName() {
            return takesTokens() ? GraphNames.INPUT_IDS : GraphNames.HIDDEN_IN;
        }

        public String inputType() {
            return takesTokens() ? "INT64" : "FP32";
        }

        public long[] inputShape() {
            return takesTokens() ? new long[] {1, -1} : new long[] {1, -1, model.width()};
        }

        public long[] outputShape() {
            return new long[] {1, model.vocabSize()};
        }
    }

    private KServeModels() {
    }

    public static String name(PoolModel model, int firstLayer) {
        return TritonModelConfig.modelName(model.name(), firstLayer, model.layers());
    }

    public static Map<String, Range> of(List<PoolModel> models) {
        Map<String, Range> out = new LinkedHashMap<>();
        for (PoolModel m : models) {
            for (int k = 0; k < m.layers(); k++) {
                String name = name(m, k);
                out.put(name, new Range(name, m, k));
            }
        }
        return out;
    }
}
