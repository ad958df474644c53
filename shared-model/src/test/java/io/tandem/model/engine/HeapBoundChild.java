package io.tandem.model.engine;

import io.tandem.model.generate.GenerationRequest;
import io.tandem.model.onnx.GraphFlavour;
import io.tandem.model.onnx.WeightPrecision;
import io.tandem.model.runtime.RuntimeOptions;
import io.tandem.model.sampling.SamplingParams;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Run by {@link LoaderHeapBoundTest} in a JVM with a small heap: loads a GGUF model, builds its graph in
 * {@code args[2]} precision through a graph cache in {@code args[1]}, and prints the greedy ids and the
 * peak heap its pools saw.
 */
public final class HeapBoundChild {

    private HeapBoundChild() {
    }

    public static void main(String[] args) throws Exception {
        LoadedModel model = LoadedModel.load(Path.of(args[0]), null);
        EngineOptions options = new EngineOptions(WeightPrecision.parse(args[2]), GraphFlavour.FAST, 0,
                RuntimeOptions.threads(1));
        try (Engine engine = Engine.open(model, options, GraphStore.cached(Path.of(args[1])))) {
            int[] ids = engine.generate(new GenerationRequest(new int[] {1}, 8, List.of(), SamplingParams.greedy()))
                    .allIds();
            long peak = 0;
            for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
                if (pool.getType() == MemoryType.HEAP) {
                    peak += pool.getPeakUsage().getUsed();
                }
            }
            System.out.println("IDS " + Arrays.toString(ids));
            System.out.println("PEAK_HEAP " + peak);
        }
    }
}
