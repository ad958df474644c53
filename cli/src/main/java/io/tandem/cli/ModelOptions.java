package io.tandem.cli;

import io.tandem.model.engine.EngineOptions;
import io.tandem.model.engine.LoadedModel;
import io.tandem.model.onnx.ActivationPrecision;
import io.tandem.model.onnx.GraphFlavour;
import io.tandem.model.onnx.WeightPrecision;
import io.tandem.model.runtime.RuntimeOptions;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Option;

/** Options every model-running subcommand shares. */
final class ModelOptions {

    @Option(names = "--model", paramLabel = "PATH",
            description = "GGUF file (llama or qwen2 architecture; its tokenizer and chat template come with it) or "
                    + "llama2.c checkpoint (v0, v1, or v2 Q8_0), told apart by the file's first bytes. "
                    + "Default: the embedded stories260K.")
    Path model;

    @Option(names = "--tokenizer", paramLabel = "PATH",
            description = "llama2.c tokenizer.bin for a llama2.c checkpoint. Default: tokenizer.bin beside --model, "
                    + "else the embedded one.")
    Path tokenizer;

    @Option(names = "--weights", paramLabel = "fp32|int8|int4", defaultValue = "fp32",
            description = "Projection weight precision (default: ${DEFAULT-VALUE}).")
    String weights;

    @Option(names = "--flavour", paramLabel = "portable|fast", defaultValue = "fast",
            description = "portable: standard ONNX operators only; fast: ONNX Runtime contrib operators (default: ${DEFAULT-VALUE}).")
    String flavour;

    @Option(names = "--activations", paramLabel = "fp32|int8",
            description = "What quantized matmuls compute in: int8 is several times faster on CPUs, fp32 computes "
                    + "exactly the dequantized weights (default: int8 for int8/int4 weights).")
    String activations;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "0",
            description = "ONNX Runtime intra-op threads; 0 lets ONNX Runtime choose (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--providers", paramLabel = "LIST", split = ",", defaultValue = "",
            description = "Execution providers to try before the CPU, e.g. cuda or xnnpack.")
    List<String> providers;

    LoadedModel load() throws IOException {
        return model == null ? LoadedModel.embedded() : LoadedModel.load(model, tokenizer);
    }

    /** Parses the options, checking the split point against the model's layers. */
    EngineOptions engineOptions(int split, LoadedModel loaded) {
        List<String> named = providers.stream().filter(p -> !p.isBlank()).toList();
        WeightPrecision precision = argument("--weights", () -> WeightPrecision.parse(weights));
        GraphFlavour graphFlavour = argument("--flavour", () -> GraphFlavour.parse(flavour));
        RuntimeOptions runtime = argument("--threads/--providers", () -> new RuntimeOptions(threads, named));
        ActivationPrecision acts = activations == null ? ActivationPrecision.defaultFor(precision)
                : argument("--activations", () -> ActivationPrecision.parse(activations));
        return argument("--split", () -> {
            EngineOptions options = new EngineOptions(precision, graphFlavour, split, runtime, acts);
            options.requireSplitWithin(loaded.weights().config().layers());
            return options;
        });
    }

    static <T> T argument(String name, java.util.function.Supplier<T> parse) {
        try {
            return parse.get();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name + ": " + e.getMessage(), e);
        }
    }
}
