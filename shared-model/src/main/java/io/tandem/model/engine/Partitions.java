package io.tandem.model.engine;

import io.tandem.model.llama.LlamaConfig;
import io.tandem.model.manifest.ModelManifest;
import io.tandem.model.onnx.GraphSpec;
import io.tandem.model.runtime.BatchedRunner;
import io.tandem.model.runtime.GraphSession;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One model's layer ranges as ONNX Runtime sessions, built the first time a range is asked for
 * and shared from then on. A split point chosen per request (edge head [0, k), cloud tail [k, L))
 * costs one graph build, once. Thread-safe.
 */
public final class Partitions implements AutoCloseable {

    /** A built range: its session and its manifest. */
    public record Range(GraphSession session, ModelManifest manifest) {
    }

    /** A built batched range: the runner that steps many sequences at once, and its graph's manifest. */
    public record BatchedRange(BatchedRunner runner, ModelManifest manifest) {
    }

    private final LoadedModel model;
    private final EngineOptions options;
    private final GraphStore store;
    private final Map<GraphSpec, Range> built = new HashMap<>();
    private final Map<GraphSpec, BatchedRange> batched = new HashMap<>();
    private boolean closed;

    public Partitions(LoadedModel model, EngineOptions options) {
        this(model, options, GraphStore.temporary());
    }

    /** Ranges built through {@code store}: a cached store builds each range once across restarts. */
    public Partitions(LoadedModel model, EngineOptions options, GraphStore store) {
        this.model = model;
        this.options = options;
        this.store = store;
    }

    public GraphStore store() {
        return store;
    }

    public LoadedModel model() {
        return model;
    }

    public EngineOptions options() {
        return options;
    }

    public LlamaConfig config() {
        return model.weights().config();
    }

    /**
     * How a peer names this model on the wire: the SHA-256 of the weights it was built from. Both
     * sides of a split must agree on it, whatever precision each runs.
     */
    public String modelHash() {
        return modelHash(model.sourceSha256());
    }

    public static String modelHash(String sourceSha256) {
        return "sha256:" + sourceSha256;
    }

    /** Layers {@code [first, end)}; throws IllegalArgumentException for a range the model does not have. */
    public Range range(int first, int end) {
        return range(first, end, false);
    }

    /**
     * Layers {@code [first, end)}; with {@code allPositionLogits}, a range that ends with the logits
     * returns them for every position it runs (what verifying a draft needs), built apart.
     */
    public synchronized Range range(int first, int end, boolean allPositionLogits) {
        boolean all = allPositionLogits && end == config().layers();
        return build(specFor(first, end).withAllPositionLogits(all));
    }

    /**
     * Layers {@code [first, end)} as a batched graph whose steps carry up to {@code maxRows} sequences;
     * built once per range (the first caller's {@code maxRows} stays).
     */
    public synchronized BatchedRange batchedRange(int first, int end, int maxRows) {
        GraphSpec spec = specFor(first, end);
        return batched.computeIfAbsent(spec, k -> {
            GraphStore.Opened<BatchedRunner> graph = store.open(model, spec, true,
                    file -> BatchedRunner.open(file, spec, config(), options.runtime(), maxRows));
            return new BatchedRange(graph.value(), graph.manifest());
        });
    }

    /** Batched ranges built so far. */
    public synchronized List<ModelManifest> batchedManifests() {
        return batched.values().stream().map(BatchedRange::manifest).toList();
    }

    /**
     * Layers {@code [0, end)} followed by the final norm and the classifier: the early exit a draft
     * can run on the edge's own layers. Its KV cache is separate from the head's.
     */
    public synchronized Range exitRange(int end) {
        if (end < 1 || end >= config().layers()) {
            throw new IllegalArgumentException("an early exit after layer " + end + " is outside 1.."
                    + (config().layers() - 1));
        }
        return build(specFor(0, end).withExitHead());
    }

    private GraphSpec specFor(int first, int end) {
        if (closed) {
            throw new IllegalStateException("partitions are closed");
        }
        int layers = config().layers();
        if (first < 0 || end > layers || first >= end) {
            throw new IllegalArgumentException("layer range [" + first + ", " + end + ") is outside the model's "
                    + layers + " layers");
        }
        return GraphSpec.whole(config(), options.precision(), options.flavour())
                .withActivations(options.activations())
                .withRange(first, end);
    }

    private Range build(GraphSpec spec) {
        if (closed) {
            throw new IllegalStateException("partitions are closed");
        }
        Range range = built.get(spec);
        if (range == null) {
            GraphStore.Opened<GraphSession> graph = store.open(model, spec, false,
                    file -> GraphSession.open(file, spec, config(), options.runtime()));
            range = new Range(graph.value(), graph.manifest());
            built.put(spec, range);
        }
        return range;
    }

    /** Ranges built so far, for health and info. */
    public synchronized List<ModelManifest> builtManifests() {
        return built.values().stream().map(Range::manifest).toList();
    }

    @Override
    public synchronized void close() {
        closed = true;
        built.values().forEach(r -> r.session().close());
        built.clear();
        batched.values().forEach(r -> r.runner().close());
        batched.clear();
    }
}
