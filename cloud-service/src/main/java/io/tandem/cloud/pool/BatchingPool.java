package io.tandem.cloud.pool;

import io.tandem.cloud.batch.BatchSettings;
import io.tandem.cloud.batch.StepScheduler;
import io.tandem.model.engine.Partitions;
import io.tandem.model.runtime.StageInput;
import io.tandem.model.wire.Mode;
import java.nio.FloatBuffer;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Runs the cloud's layers in this process with the steps of many sessions batched into one ONNX
 * Runtime pass: one {@link StepScheduler} per model and layer range, built when a session first
 * asks for the range. A session's {@link PoolSequence#forward} waits for its row of a pass, so the
 * session code stays one blocking call per step.
 */
public final class BatchingPool implements LayerPool {

    private final Map<String, Partitions> models = new LinkedHashMap<>();
    private final Map<String, StepScheduler> schedulers = new ConcurrentHashMap<>();
    private final BatchSettings settings;
    private final Clock clock;
    private final Listeners listeners;
    /** Verification (many positions with a past) runs per sequence: ONNX Runtime cannot batch it. */
    private final InProcessPool unbatched;
    private final Map<String, io.tandem.model.constrain.ConstrainedVocabulary> vocabularies = new ConcurrentHashMap<>();

    /** Gives each new scheduler its metrics: called once per range, with the model name and the range label. */
    @FunctionalInterface
    public interface Listeners {
        StepScheduler.Listener created(StepScheduler scheduler, String model, String range);
    }

    /** Forwards to a listener set after construction: the scheduler exists before its metrics do. */
    private static final class Deferred implements StepScheduler.Listener {
        volatile StepScheduler.Listener target = StepScheduler.Listener.NONE;

        @Override
        public void pass(int rows, int positions, long nanos) {
            target.pass(rows, positions, nanos);
        }

        @Override
        public void step(long nanos, int positions) {
            target.step(nanos, positions);
        }
    }

    public BatchingPool(List<Partitions> served, BatchSettings settings, Clock clock, Listeners listeners) {
        for (Partitions p : served) {
            models.put(p.modelHash(), p);
        }
        this.settings = settings;
        this.clock = clock;
        this.listeners = listeners;
        this.unbatched = new InProcessPool(served, () -> 0);
    }

    /** Drafts are verified on the one-sequence graphs: a multi-position step with a past cannot share a pass. */
    @Override
    public PoolSequence openForVerification(String modelHash, Mode mode) {
        return unbatched.openForVerification(modelHash, mode);
    }

    @Override
    public PoolSequence open(String modelHash, Mode mode) {
        return open(modelHash, mode, "session");
    }

    @Override
    public PoolSequence open(String modelHash, Mode mode, String agent) {
        Partitions model = LayerPool.require(models, modelHash);
        int first = InProcessPool.firstCloudLayer(model, mode);
        return open(model, first, agent);
    }

    /** A sequence over layers {@code [first, L)} of a served model, for {@code agent}. */
    PoolSequence open(Partitions model, int first, String agent) {
        int layers = model.config().layers();
        StepScheduler scheduler = scheduler(model, first);
        StepScheduler.Sequence sequence = scheduler.open(agent);
        String manifestHash = "sha256:" + model.batchedRange(first, layers, settings.maxBatch()).manifest().graphSha256();
        return sequence(sequence, first, layers, model.config(), manifestHash,
                () -> vocabularies.computeIfAbsent(model.modelHash(), h -> model.model().tokenizer().constrainedVocabulary()));
    }

    /** A scheduler's sequence as a pool sequence over layers {@code [first, layers)} of a model shaped {@code config}. */
    public static PoolSequence sequence(StepScheduler.Sequence sequence, int first, int layers,
                                        io.tandem.model.llama.LlamaConfig config, String manifestHash) {
        return sequence(sequence, first, layers, config, manifestHash, null);
    }

    /** As above, with the served model's vocabulary for output constraints (null: this sequence cannot constrain). */
    public static PoolSequence sequence(StepScheduler.Sequence sequence, int first, int layers,
                                        io.tandem.model.llama.LlamaConfig config, String manifestHash,
                                        java.util.function.Supplier<io.tandem.model.constrain.ConstrainedVocabulary> vocabulary) {
        return new PoolSequence() {
            @Override
            public io.tandem.model.constrain.ConstrainedVocabulary vocabulary() {
                return vocabulary == null ? PoolSequence.super.vocabulary() : vocabulary.get();
            }

            @Override
            public int firstLayer() {
                return first;
            }

            @Override
            public int endLayer() {
                return layers;
            }

            @Override
            public String manifestHash() {
                return manifestHash;
            }

            @Override
            public int inputWidth() {
                return first == 0 ? 0 : config.dim();
            }

            @Override
            public int vocabSize() {
                return config.vocabSize();
            }

            @Override
            public int contextLength() {
                return config.contextLength();
            }

            @Override
            public int length() {
                return sequence.length();
            }

            @Override
            public FloatBuffer forward(StageInput input) {
                return sequence.forward(input);
            }

            @Override
            public long computeNanos(long wallNanos) {
                return sequence.lastComputeNanos();
            }

            @Override
            public void close() {
                sequence.close();
            }
        };
    }

    /** The scheduler of layers {@code [first, L)}: built (graph and ONNX Runtime session) on first use. */
    public StepScheduler scheduler(Partitions model, int first) {
        int layers = model.config().layers();
        String key = model.modelHash() + "/" + first;
        return schedulers.computeIfAbsent(key, k -> {
            Deferred listener = new Deferred();
            StepScheduler scheduler = new StepScheduler(model.model().name() + "_" + first + "_" + layers,
                    model.batchedRange(first, layers, settings.maxBatch()).runner(), settings, clock, listener);
            listener.target = listeners.created(scheduler, model.model().name(), first + ".." + layers);
            return scheduler;
        });
    }

    /**
     * Builds the scheduler of layers {@code [first, L)} of every served model that has them and runs
     * one short sequence through it (a prompt, then decode steps), so the first session does not pay
     * for graph building or first-run allocations. Returns the partitions warmed.
     */
    public List<String> warm(int first) {
        List<String> warmed = new ArrayList<>();
        for (Partitions model : models.values()) {
            int layers = model.config().layers();
            if (first < 0 || first >= layers) {
                continue;
            }
            StepScheduler scheduler = scheduler(model, first);
            try (StepScheduler.Sequence sequence = scheduler.open("pre-warm")) {
                StageInput prompt = first == 0 ? new StageInput.Tokens(new long[] {1, 1})
                        : new StageInput.Hidden(java.nio.ByteBuffer.allocate(2 * model.config().dim() * Float.BYTES), 2);
                sequence.forward(prompt);
                StageInput step = first == 0 ? new StageInput.Tokens(new long[] {1})
                        : new StageInput.Hidden(java.nio.ByteBuffer.allocate(model.config().dim() * Float.BYTES), 1);
                sequence.forward(step);
                sequence.forward(step);
            }
            warmed.add(model.model().name() + " layers " + first + ".." + layers);
        }
        return warmed;
    }

    /** The served models by hash. */
    public Map<String, Partitions> served() {
        return java.util.Collections.unmodifiableMap(models);
    }

    /** Schedulers built so far. */
    public List<StepScheduler> schedulers() {
        return new ArrayList<>(schedulers.values());
    }

    @Override
    public List<PoolModel> models() {
        return models.values().stream().map(p -> new PoolModel(p.model().name(), p.modelHash(), p.config().layers(),
                p.config().dim(), p.config().vocabSize(), p.config().contextLength(),
                p.batchedManifests().isEmpty() ? "" : p.batchedManifests().getFirst().precision(),
                p.batchedManifests())).toList();
    }

    @Override
    public int queueDepth() {
        return schedulers.values().stream().mapToInt(StepScheduler::queueDepth).sum();
    }

    @Override
    public void close() {
        schedulers.values().forEach(StepScheduler::close);
        models.values().forEach(Partitions::close);
    }
}
