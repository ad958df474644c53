package io.tandem.cli.bench;

import io.tandem.model.checkpoint.Llama2cCheckpointReader;
import io.tandem.model.engine.LoadedModel;
import io.tandem.model.generate.DecoderPipeline;
import io.tandem.model.generate.LocalPipeline;
import io.tandem.model.llama.LlamaConfig;
import io.tandem.model.llama.LlamaWeights;
import io.tandem.model.llama.ModelShapes;
import io.tandem.model.llama.RandomWeights;
import io.tandem.model.onnx.DecoderGraphBuilder;
import io.tandem.model.onnx.GraphSpec;
import io.tandem.model.onnx.OnnxModel;
import io.tandem.model.onnx.WeightSource;
import io.tandem.model.runtime.GraphSession;
import io.tandem.model.runtime.RuntimeOptions;
import io.tandem.model.sampling.Sampler;
import io.tandem.model.sampling.SamplingParams;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Runs one benchmark configuration in its own JVM, so that its peak memory is its own, and prints
 * one {@link BenchResult} line. {@code tandem bench} starts it; it is not meant to be run by hand.
 *
 * <p>The model's weights are dropped and collected once the ONNX Runtime session is open, as a
 * long-running server would, so the RSS sampled while decoding shows what serving costs, while
 * the peak (VmHWM) also covers loading and graph building.
 */
public final class BenchWorker {

    private BenchWorker() {
    }

    public static void main(String[] args) {
        try {
            BenchResult result = run(BenchConfig.parse(args));
            System.out.println(result.toLine());
            System.out.flush();
            System.exit(0);
        } catch (Throwable e) {
            String message = e.getMessage() == null ? e.toString() : e.getMessage();
            if (e instanceof OutOfMemoryError) {
                message = "out of memory (" + message + "); Java heap max "
                        + Runtime.getRuntime().maxMemory() / (1 << 20) + " MiB";
            }
            System.out.println(BenchResult.ERROR_PREFIX + message.replace('\n', ' '));
            System.out.flush();
            System.exit(1);
        }
    }

    static BenchResult run(BenchConfig config) throws IOException {
        long start = System.nanoTime();
        Weights source = load(config);
        LlamaWeights weights = source.weights();
        LlamaConfig llama = weights.config();
        int needed = config.promptTokens() + config.decodeTokens();
        if (needed > llama.contextLength()) {
            throw new IllegalArgumentException("--prompt-tokens " + config.promptTokens() + " plus --decode-tokens "
                    + config.decodeTokens() + " exceed the model's context of " + llama.contextLength() + " tokens");
        }
        GraphSpec spec = GraphSpec.whole(llama, config.precision(), config.flavour());
        OnnxModel graph = DecoderGraphBuilder.build(weights, spec, source.stored());
        source = null;
        GraphSession session = GraphSession.open(graph, spec, llama, RuntimeOptions.threads(config.threads()));
        // From here on only ONNX Runtime holds the weights.
        weights = null;
        graph = null;
        double buildSeconds = (System.nanoTime() - start) / 1e9;
        System.gc();
        try (session) {
            List<GraphSession> partitions = List.of(session);
            long[] prompt = promptIds(config, llama.vocabSize());
            // One untimed pass over the prompt on a throwaway sequence: first-run allocations.
            try (DecoderPipeline warmup = new LocalPipeline(partitions)) {
                warmup.forward(prompt);
            }
            Sampler sampler = new Sampler(SamplingParams.greedy(), llama.vocabSize());
            try (DecoderPipeline pipeline = new LocalPipeline(partitions)) {
                long t0 = System.nanoTime();
                FloatBuffer logits = pipeline.forward(prompt);
                long prefillNanos = System.nanoTime() - t0;
                int token = sampler.sample(logits).token();
                long decodeNanos = 0;
                for (int step = 0; step < config.decodeTokens(); step++) {
                    long s0 = System.nanoTime();
                    logits = pipeline.forward(new long[] {token});
                    token = sampler.sample(logits).token();
                    if (step > 0) {
                        decodeNanos += System.nanoTime() - s0;
                    }
                }
                long rss = ProcStatus.rssKib();
                long peak = ProcStatus.peakRssKib();
                return new BenchResult(buildSeconds,
                        config.promptTokens() / (prefillNanos / 1e9),
                        (config.decodeTokens() - 1) / (decodeNanos / 1e9),
                        rss, peak);
            }
        }
    }

    /** The weights to benchmark and how the file stored them (a GGUF file's Q4_0/Q8_0 blocks go to the graph as they are). */
    record Weights(LlamaWeights weights, WeightSource stored) {
    }

    static Weights load(BenchConfig config) throws IOException {
        String source = config.source();
        if (source.equals(BenchConfig.EMBEDDED)) {
            return new Weights(Llama2cCheckpointReader.embedded().weights(), WeightSource.FP32);
        }
        if (source.startsWith(BenchConfig.MODEL_PREFIX)) {
            Path file = Path.of(source.substring(BenchConfig.MODEL_PREFIX.length()));
            if (LoadedModel.isGguf(file)) {
                LoadedModel gguf = LoadedModel.gguf(file);
                return new Weights(gguf.weights(), gguf.weightSource());
            }
            return new Weights(Llama2cCheckpointReader.read(file).weights(), WeightSource.FP32);
        }
        return new Weights(RandomWeights.create(ModelShapes.config(source.substring(BenchConfig.SHAPE_PREFIX.length())),
                config.seed()), WeightSource.FP32);
    }

    /** Seeded random prompt ids; a fixed stream apart from the weights' so both stay reproducible. */
    static long[] promptIds(BenchConfig config, int vocabSize) {
        SplittableRandom random = new SplittableRandom(config.seed() ^ 0x5DEECE66DL);
        long[] ids = new long[config.promptTokens()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = random.nextInt(vocabSize);
        }
        return ids;
    }
}
