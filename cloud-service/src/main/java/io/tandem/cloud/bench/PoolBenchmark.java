package io.tandem.cloud.bench;

import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.tandem.cloud.batch.BatchSettings;
import io.tandem.cloud.batch.StepScheduler;
import io.tandem.cloud.kserve.KServeService;
import io.tandem.cloud.pool.BatchingPool;
import io.tandem.cloud.pool.KServePool;
import io.tandem.cloud.pool.LayerPool;
import io.tandem.cloud.pool.PoolModel;
import io.tandem.cloud.pool.PoolSequence;
import io.tandem.model.llama.LlamaConfig;
import io.tandem.model.llama.LlamaWeights;
import io.tandem.model.llama.ModelShapes;
import io.tandem.model.llama.RandomWeights;
import io.tandem.model.onnx.DecoderGraphBuilder;
import io.tandem.model.onnx.GraphFlavour;
import io.tandem.model.onnx.GraphSpec;
import io.tandem.model.onnx.OnnxModel;
import io.tandem.model.onnx.WeightPrecision;
import io.tandem.model.onnx.WeightSource;
import io.tandem.model.runtime.BatchedRunner;
import io.tandem.model.runtime.GraphSession;
import io.tandem.model.runtime.KvSequence;
import io.tandem.model.runtime.RuntimeOptions;
import io.tandem.model.runtime.StageInput;
import io.tandem.model.runtime.StageOutput;
import io.tandem.model.wire.Mode;
import java.io.PrintStream;
import java.nio.FloatBuffer;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;

/**
 * {@code bin/tandem bench-pool}: aggregate decode steps/s and per-step latency at several numbers
 * of concurrent sessions, three ways: one ONNX Runtime run per step (one at a time), batched
 * through the scheduler, and batched behind a KServe v2 gRPC hop on loopback (the pool client
 * talking to a KServe server over Netty in this JVM: real gRPC and protobuf, one process).
 * Prints a markdown table. Per-step latency is the time between two tokens of one session.
 */
public final class PoolBenchmark {

    /** Untimed decode steps per session before the clock starts: JIT, allocations and first batches settle. */
    private static final int WARMUP_STEPS = 3;

    private record Options(List<String> shapes, List<Integer> sessions, int steps, int prompt, WeightPrecision weights25m,
                           WeightPrecision weightsQwen, List<String> hopShapes, Duration maxWait, int threads) {
    }

    private record Row(String shape, String mode, int sessions, double stepsPerSecond, double p50, double p95) {
    }

    public static void main(String[] args) throws Exception {
        Options o = parse(args);
        PrintStream out = System.out;
        out.println("# bench-pool");
        out.println();
        out.printf(Locale.ROOT, "- %d timed decode steps per session after a %d-token prompt and " + WARMUP_STEPS
                + " untimed ones; ONNX Runtime intra-op threads: %s; "
                + "max-wait %d ms; %d cores%n", o.steps(), o.prompt(), o.threads() == 0 ? "automatic" : o.threads(),
                o.maxWait().toMillis(), Runtime.getRuntime().availableProcessors());
        out.println();
        out.println("| model | weights | mode | sessions | steps/s | vs one at a time | step P50 (ms) | step P95 (ms) |");
        out.println("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |");
        for (String shape : o.shapes()) {
            LlamaConfig config = shape.equals("random-25m") ? RandomWeights.STORIES_25M : ModelShapes.config(shape);
            WeightPrecision weights = shape.equals("random-25m") ? o.weights25m() : o.weightsQwen();
            run(shape, config, weights, o, out);
        }
    }

    private static void run(String shape, LlamaConfig config, WeightPrecision weights, Options o, PrintStream out)
            throws Exception {
        LlamaWeights w = RandomWeights.create(config, 42);
        GraphSpec spec = GraphSpec.whole(config, weights, GraphFlavour.FAST);
        int maxBatch = o.sessions().stream().mapToInt(Integer::intValue).max().orElse(1);
        RuntimeOptions runtime = RuntimeOptions.threads(o.threads());
        List<Row> rows = new ArrayList<>();
        try (GraphSession single = GraphSession.open(DecoderGraphBuilder.build(w, spec), spec, config, runtime)) {
            for (int n : o.sessions()) {
                rows.add(oneAtATime(shape, single, n, o));
                print(out, rows.getLast(), rows, weights);
            }
        }
        OnnxModel batchedGraph = DecoderGraphBuilder.buildBatched(w, spec, WeightSource.FP32);
        w = null; // the graph holds the weights now
        try (BatchedRunner runner = BatchedRunner.open(batchedGraph, spec, config, runtime, maxBatch);
             StepScheduler scheduler = new StepScheduler(shape, runner, new BatchSettings(maxBatch, o.maxWait(), 64),
                     Clock.systemUTC(), StepScheduler.Listener.NONE)) {
            batchedGraph = null;
            for (int n : o.sessions()) {
                rows.add(concurrent(shape, "batched", n, o, config,
                        () -> BatchingPool.sequence(scheduler.open("bench"), 0, config.layers(), config, "")));
                print(out, rows.getLast(), rows, weights);
            }
            if (o.hopShapes().contains(shape)) {
                PoolModel model = new PoolModel(shape, "sha256:bench", config.layers(), config.dim(), config.vocabSize(),
                        config.contextLength(), weights.label(), List.of());
                LayerPool served = new LayerPool() {
                    @Override
                    public PoolSequence open(String modelHash, Mode mode) {
                        return BatchingPool.sequence(scheduler.open("kserve"), 0, config.layers(), config, "");
                    }

                    @Override
                    public List<PoolModel> models() {
                        return List.of(model);
                    }

                    @Override
                    public int queueDepth() {
                        return scheduler.queueDepth();
                    }

                    @Override
                    public void close() {
                    }
                };
                Server server = NettyServerBuilder.forPort(0)
                        .addService(new KServeService(served, Clock.systemUTC(), Duration.ofMinutes(5), "bench"))
                        .executor(Executors.newVirtualThreadPerTaskExecutor()).maxInboundMessageSize(256 << 20).build().start();
                try (KServePool pool = new KServePool(List.of(model), List.of("127.0.0.1:" + server.getPort()),
                        Duration.ofSeconds(30), Duration.ofSeconds(120))) {
                    for (int n : o.sessions()) {
                        rows.add(concurrent(shape, "batched, KServe gRPC hop", n, o, config,
                                () -> pool.open("sha256:bench", new Mode.Full())));
                        print(out, rows.getLast(), rows, weights);
                    }
                } finally {
                    server.shutdownNow();
                }
            }
        }
    }

    private static void print(PrintStream out, Row row, List<Row> rows, WeightPrecision weights) {
        Row base = rows.stream().filter(r -> r.shape().equals(row.shape()) && r.mode().equals("one at a time")
                && r.sessions() == row.sessions()).findFirst().orElse(row);
        out.printf(Locale.ROOT, "| %s | %s | %s | %d | %.1f | %.2fx | %.1f | %.1f |%n", row.shape(), weights.label(), row.mode(),
                row.sessions(), row.stepsPerSecond(), row.stepsPerSecond() / base.stepsPerSecond(), row.p50(), row.p95());
        out.flush();
    }

    /** Sessions stepped in turn, one ONNX Runtime run per step: what the pool did before batching. */
    private static Row oneAtATime(String shape, GraphSession session, int n, Options o) {
        List<KvSequence> sequences = new ArrayList<>();
        long[] next = new long[n];
        long[] last = new long[n];
        List<Double> latencies = new ArrayList<>();
        SplittableRandom random = new SplittableRandom(n);
        int vocab = session.config().vocabSize();
        for (int s = 0; s < n; s++) {
            KvSequence seq = session.newSequence();
            sequences.add(seq);
            next[s] = argmax(seq.run(new StageInput.Tokens(prompt(random, vocab, o.prompt()))));
            for (int w = 0; w < WARMUP_STEPS; w++) {
                next[s] = argmax(seq.run(new StageInput.Tokens(new long[] {next[s]})));
            }
        }
        long start = System.nanoTime();
        Arrays.fill(last, start);
        for (int step = 0; step < o.steps(); step++) {
            for (int s = 0; s < n; s++) {
                next[s] = argmax(sequences.get(s).run(new StageInput.Tokens(new long[] {next[s]})));
                long now = System.nanoTime();
                latencies.add((now - last[s]) / 1e6);
                last[s] = now;
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        sequences.forEach(KvSequence::close);
        return row(shape, "one at a time", n, (double) n * o.steps() / seconds, latencies);
    }

    /** Sessions on their own threads, each stepping as fast as its steps come back. */
    private static Row concurrent(String shape, String mode, int n, Options o, LlamaConfig config,
                                  java.util.function.Supplier<PoolSequence> open) throws Exception {
        CyclicBarrier ready = new CyclicBarrier(n + 1);
        CyclicBarrier finished = new CyclicBarrier(n + 1);
        List<Future<List<Double>>> results = new ArrayList<>();
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int s = 0; s < n; s++) {
                int seed = s;
                results.add(threads.submit(() -> {
                    try (PoolSequence seq = open.get()) {
                        return timedSession(seq, seed, o, config, ready, finished);
                    } catch (Exception | Error e) {
                        // a failed session must not leave the others waiting at a barrier
                        ready.reset();
                        finished.reset();
                        throw e;
                    }
                }));
            }
            try {
                ready.await();
                long start = System.nanoTime();
                finished.await();
                double seconds = (System.nanoTime() - start) / 1e9;
                List<Double> all = new ArrayList<>();
                for (Future<List<Double>> f : results) {
                    all.addAll(f.get());
                }
                return row(shape, mode, n, (double) n * o.steps() / seconds, all);
            } catch (java.util.concurrent.BrokenBarrierException e) {
                for (Future<List<Double>> f : results) {
                    f.get(); // throws the session's own failure
                }
                throw e;
            }
        }
    }

    private static List<Double> timedSession(PoolSequence seq, int seed, Options o, LlamaConfig config,
                                             CyclicBarrier ready, CyclicBarrier finished) throws Exception {
        long next = argmax(seq.forward(new StageInput.Tokens(prompt(new SplittableRandom(seed), config.vocabSize(),
                o.prompt()))));
        for (int w = 0; w < WARMUP_STEPS; w++) {
            next = argmax(seq.forward(new StageInput.Tokens(new long[] {next})));
        }
        ready.await();
        List<Double> latencies = new ArrayList<>();
        long last = System.nanoTime();
        for (int step = 0; step < o.steps(); step++) {
            next = argmax(seq.forward(new StageInput.Tokens(new long[] {next})));
            long now = System.nanoTime();
            latencies.add((now - last) / 1e6);
            last = now;
        }
        finished.await();
        return latencies;
    }

    private static Row row(String shape, String mode, int n, double stepsPerSecond, List<Double> latencies) {
        double[] sorted = latencies.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return new Row(shape, mode, n, stepsPerSecond, percentile(sorted, 0.50), percentile(sorted, 0.95));
    }

    static double percentile(double[] sorted, double p) {
        int index = (int) Math.ceil(p * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }

    private static long[] prompt(SplittableRandom random, int vocab, int length) {
        long[] ids = new long[length];
        for (int i = 0; i < length; i++) {
            ids[i] = random.nextInt(vocab);
        }
        return ids;
    }

    private static long argmax(StageOutput output) {
        return argmax(((StageOutput.Logits) output).values());
    }

    private static long argmax(FloatBuffer logits) {
        int best = 0;
        int base = logits.position();
        for (int i = 1; i < logits.remaining(); i++) {
            if (logits.get(base + i) > logits.get(base + best)) {
                best = i;
            }
        }
        return best;
    }

    private static Options parse(String[] args) {
        List<String> shapes = List.of("random-25m", "qwen2.5-0.5b");
        List<Integer> sessions = List.of(1, 2, 4, 8, 16, 32);
        int steps = 16;
        int prompt = 8;
        WeightPrecision w25 = WeightPrecision.FP32;
        WeightPrecision wq = WeightPrecision.INT8;
        List<String> hop = List.of("random-25m", "qwen2.5-0.5b");
        Duration maxWait = Duration.ofMillis(2);
        int threads = 0;
        for (String arg : args) {
            String[] kv = arg.split("=", 2);
            if (kv.length != 2 || !kv[0].startsWith("--")) {
                throw usage("unexpected argument '" + arg + "'");
            }
            Function<String, List<String>> list = v -> Arrays.stream(v.split(",")).map(String::trim).filter(x -> !x.isEmpty()).toList();
            switch (kv[0]) {
                case "--shapes" -> shapes = list.apply(kv[1]);
                case "--sessions" -> sessions = list.apply(kv[1]).stream().map(Integer::parseInt).toList();
                case "--steps" -> steps = Integer.parseInt(kv[1]);
                case "--prompt" -> prompt = Integer.parseInt(kv[1]);
                case "--weights-25m" -> w25 = WeightPrecision.parse(kv[1]);
                case "--weights-qwen" -> wq = WeightPrecision.parse(kv[1]);
                case "--hop" -> hop = list.apply(kv[1]);
                case "--max-wait-ms" -> maxWait = Duration.ofMillis(Long.parseLong(kv[1]));
                case "--threads" -> threads = Integer.parseInt(kv[1]);
                default -> throw usage("unknown option " + kv[0]);
            }
        }
        for (String s : shapes) {
            if (!s.equals("random-25m") && !ModelShapes.names().contains(s)) {
                throw usage("unknown shape '" + s + "': random-25m or one of " + ModelShapes.names());
            }
        }
        return new Options(shapes, sessions, steps, prompt, w25, wq, hop, maxWait, threads);
    }

    private static IllegalArgumentException usage(String problem) {
        return new IllegalArgumentException(problem + "\nusage: bin/tandem bench-pool [--shapes=random-25m,qwen2.5-0.5b]"
                + " [--sessions=1,2,4,8,16,32] [--steps=16] [--prompt=8] [--weights-25m=fp32] [--weights-qwen=int8]"
                + " [--hop=random-25m,qwen2.5-0.5b] [--max-wait-ms=2] [--threads=0]");
    }

    private PoolBenchmark() {
    }
}
