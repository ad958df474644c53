package io.tandem.cloud.pool;

import io.tandem.model.manifest.ModelManifest;
import java.util.List;

/** A model a pool serves: its wire name, shape, and the layer ranges built so far. */
public record PoolModel(String name, String modelHash, int layers, int width, int vocabSize, int contextLength,
                        String precision, List<ModelManifest> builtRanges) {
    public PoolModel {
        builtRanges = List.copyOf(builtRanges);
    }
}
