package io.tandem.cli.bench;

import io.tandem.model.checkpoint.Llama2cCheckpointReader;
import io.tandem.model.engine.LoadedModel;
import io.tandem.model.generate.DecoderPipeline;
import io.tandem.model.generate.LocalPipeline;
import io.tandem.model.llama.LlamaConfig;
import io.tandem.model.llama.LlamaWeights;
import io.tandem.model.llama.ModelShapes;
import io.tandem.model.llama.RandomWeights;
import io.tandem.model.engine.GraphStore;
import io.tandem.model.onnx.DecoderGraphBuilder;
import io.tandem.model.onnx.ExternalData;
import io.tandem.model.onnx.GraphSpec;
import io.tandem.model.onnx.OnnxModel;
import io.tandem.model.onnx.WeightSource;
import io.tandem.model.runtime.GraphSession;
import io.tandem.model.runtime.RuntimeOptions;
import io.tandem.model.sampling.Sampler;
import io.tandem.model.sampling.SamplingParams;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Runs one benchmark configuration in its own JVM, so that its peak memory is its own, and prints
 * one {@link BenchResult} line. {@code tandem bench} starts it; it is not meant to be run by hand.
 *
 * <p>The graph is built straight into a file (a GGUF model's weights read one at a time from the mapped
 * file) and ONNX Runtime opens it from there, as a server starts; the peak RSS once the session is open
 * (VmHWM) is what loading and building cost. With a cache directory a second start takes the graph from
 * the cache. The RSS sampled while decoding shows what serving costs.
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
        long jvmStartMillis = java.lang.management.ManagementFactory.getRuntimeMXBean().getStartTime();
        long start = System.nanoTime();
        Opened opened = open(config);
        GraphSession session = opened.session();
        LlamaConfig llama = session.config();
        int needed = config.promptTokens() + config.decodeTokens();
        if (needed > llama.contextLength()) {
            session.close();
            throw new IllegalArgumentException("--prompt-tokens " + config.promptTokens() + " plus --decode-tokens "
                    + config.decodeTokens() + " exceed the model's context of " + llama.contextLength() + " tokens");
        }
        // From here on only ONNX Runtime holds the weights.
        double buildSeconds = (System.nanoTime() - start) / 1e9;
        long loadPeak = ProcStatus.peakRssKib();
        try (session) {
            List<GraphSession> partitions = List.of(session);
            long[] prompt = promptIds(config, llama.vocabSize());
            Sampler sampler = new Sampler(SamplingParams.greedy(), llama.vocabSize());
            // The first pass over the prompt gives the first token (what a start is waiting for); it also
            // warms up first-run allocations before the timed passes on a fresh sequence.
            double firstToken;
            try (DecoderPipeline first = new LocalPipeline(partitions)) {
                sampler.sample(first.forward(prompt));
                firstToken = (System.currentTimeMillis() - jvmStartMillis) / 1e3;
            }
            if (config.firstTokenOnly()) {
                return new BenchResult(buildSeconds, 0, 0, ProcStatus.rssKib(), ProcStatus.peakRssKib(), loadPeak,
                        firstToken, opened.builds());
            }
            System.gc();
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
                        rss, peak, loadPeak, firstToken, opened.builds());
            }
        }
    }

    /** The session of the configuration's whole model, and how many graphs opening it built. */
    record Opened(GraphSession session, int builds) {
    }

    /**
     * Loads the model and opens its graph as a server starts: a GGUF file through the graph store (its
     * weights stay in the mapped file; built into a file, or taken from the cache), other sources built
     * straight into a temporary external-data file.
     */
    static Opened open(BenchConfig config) throws IOException {
        RuntimeOptions runtime = RuntimeOptions.threads(config.threads());
        String source = config.source();
        if (source.startsWith(BenchConfig.MODEL_PREFIX)) {
            Path file = Path.of(source.substring(BenchConfig.MODEL_PREFIX.length()));
            if (LoadedModel.isGguf(file)) {
                LoadedModel model = LoadedModel.gguf(file);
                GraphStore store = config.cacheDir().isEmpty() ? GraphStore.temporary()
                        : GraphStore.cached(Path.of(config.cacheDir()));
                LlamaConfig llama = model.weights().config();
                GraphSpec spec = GraphSpec.whole(llama, config.precision(), config.flavour());
                GraphSession session = store.open(model, spec, false,
                        graphFile -> GraphSession.open(graphFile, spec, llama, runtime)).value();
                return new Opened(session, store.builds());
            }
        }
        Weights weights = load(config);
        LlamaConfig llama = weights.weights().config();
        GraphSpec spec = GraphSpec.whole(llama, config.precision(), config.flavour());
        Path dir = Files.createTempDirectory("tandem-bench");
        try (ExternalData data = ExternalData.create(dir.resolve("model.onnx.data"))) {
            OnnxModel graph = DecoderGraphBuilder.build(weights.weights(), spec, weights.stored(), data);
            weights = null;
            return new Opened(GraphSession.open(graph, spec, llama, runtime), 1);
        } finally {
            try (var files = Files.list(dir)) {
                for (Path p : files.toList()) {
                    Files.deleteIfExists(p);
                }
            }
            Files.deleteIfExists(dir);
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
