package io.tandem.model.engine;

import io.tandem.model.generate.DecoderPipeline;
import io.tandem.model.generate.GenerationListener;
import io.tandem.model.generate.GenerationRequest;
import io.tandem.model.generate.GenerationResult;
import io.tandem.model.generate.Generator;
import io.tandem.model.generate.LocalPipeline;
import io.tandem.model.generate.SamplingStepper;
import io.tandem.model.generate.TokenStepper;
import io.tandem.model.sampling.Sampler;
import io.tandem.model.sampling.SamplingParams;
import io.tandem.model.llama.LlamaConfig;
import io.tandem.model.manifest.ModelManifest;
import io.tandem.model.onnx.GraphSpec;
import io.tandem.model.onnx.OnnxModel;
import io.tandem.model.runtime.GraphSession;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * A model built into ONNX partitions with one ONNX Runtime session each, ready to generate. Many
 * generations may run at once: each gets its own pipeline (its own KV state). Once the sessions
 * hold the weights, the engine keeps no Java copy of them.
 */
public final class Engine implements AutoCloseable {

    private final String modelName;
    private final LlamaConfig config;
    private final List<GraphSession> sessions;
    private final List<ModelManifest> manifests;
    private final Generator generator;

    private Engine(String modelName, LlamaConfig config, ModelTokenizer tokenizer, List<GraphSession> sessions,
                   List<ModelManifest> manifests) {
        tokenizer.requireVocabSize(config.vocabSize());
        this.modelName = modelName;
        this.config = config;
        this.sessions = List.copyOf(sessions);
        this.manifests = List.copyOf(manifests);
        this.generator = new Generator(tokenizer.tokenText(), tokenizer.endTokens(), config.contextLength(),
                config.vocabSize());
    }

    /**
     * An engine over sessions opened elsewhere (an export read back from disk), one per partition
     * in layer order. It owns the sessions from now on; on failure they are closed.
     */
    public static Engine ofSessions(String modelName, ModelTokenizer tokenizer, List<GraphSession> sessions,
                                    List<ModelManifest> manifests) {
        try {
            for (int i = 1; i < manifests.size(); i++) {
                manifests.get(i).requireContinues(manifests.get(i - 1));
            }
            return new Engine(modelName, manifests.getFirst().architecture(), tokenizer, sessions, manifests);
        } catch (RuntimeException e) {
            sessions.forEach(GraphSession::close);
            throw e;
        }
    }

    /** The partitions {@code options} asks for: the whole model, or two around the split point. */
    public static List<GraphSpec> partitions(LlamaConfig config, EngineOptions options) {
        options.requireSplitWithin(config.layers());
        GraphSpec whole = GraphSpec.whole(config, options.precision(), options.flavour())
                .withActivations(options.activations());
        return options.split() == 0
                ? List.of(whole)
                : List.of(whole.withRange(0, options.split()), whole.withRange(options.split(), config.layers()));
    }

    /** Builds every partition into temporary files and opens it. */
    public static Engine open(LoadedModel model, EngineOptions options) {
        return open(model, options, GraphStore.temporary());
    }

    /**
     * Opens every partition from {@code store}: built straight into a file (one weight in the heap at a time)
     * or, from a cache, not built at all.
     */
    public static Engine open(LoadedModel model, EngineOptions options, GraphStore store) {
        LlamaConfig config = model.weights().config();
        List<GraphSession> sessions = new ArrayList<>();
        List<ModelManifest> manifests = new ArrayList<>();
        try {
            for (GraphSpec spec : partitions(config, options)) {
                GraphStore.Opened<GraphSession> graph = store.open(model, spec, false,
                        file -> GraphSession.open(file, spec, config, options.runtime()));
                sessions.add(graph.value());
                ModelManifest manifest = graph.manifest();
                if (!manifests.isEmpty()) {
                    manifest.requireContinues(manifests.getLast());
                }
                manifests.add(manifest);
            }
        } catch (RuntimeException e) {
            sessions.forEach(GraphSession::close);
            throw e;
        }
        return new Engine(model.name(), config, model.tokenizer(), sessions, manifests);
    }

    public static ModelManifest manifest(LoadedModel model, GraphSpec spec, OnnxModel graph) {
        return ModelManifest.of(model.name(), model.sourceFormat(), model.sourceSha256(), model.weights().config(), spec,
                graph, model.sourceConversions(spec.precision()));
    }

    public String modelName() {
        return modelName;
    }

    public LlamaConfig config() {
        return config;
    }

    public List<ModelManifest> manifests() {
        return manifests;
    }

    /** A fresh sequence through every partition. Close it when done. */
    public DecoderPipeline newPipeline() {
        return new LocalPipeline(sessions);
    }

    public GenerationResult generate(GenerationRequest request, GenerationListener listener, BooleanSupplier cancelled) {
        try (DecoderPipeline pipeline = newPipeline()) {
            return generator.generate(pipeline, request, listener, cancelled);
        }
    }

    /** Generates with tokens chosen by {@code stepper} (a remote one, say), with this model's text and limits. */
    public GenerationResult generate(TokenStepper stepper, GenerationRequest request, GenerationListener listener,
                                     BooleanSupplier cancelled) {
        return generator.generate(stepper, request, listener, cancelled);
    }

    /** A fresh sequence through every partition, sampled here. Close it when done. */
    public TokenStepper newStepper(SamplingParams sampling) {
        return new SamplingStepper(newPipeline(), new Sampler(sampling, config.vocabSize()));
    }

    /**
     * A fresh sequence sampled here as {@code request} asks (its logit rules, constraint and top logprobs),
     * after {@code answerSoFar}, tokens of the answer chosen elsewhere, were run through its penalties and
     * constraint. Close it when done.
     */
    public TokenStepper newStepper(GenerationRequest request, int[] answerSoFar) {
        io.tandem.model.sampling.Sampler sampler = request.newSampler(config.vocabSize());
        for (int token : answerSoFar) {
            sampler.replay(token);
        }
        return new SamplingStepper(newPipeline(), sampler);
    }

    public GenerationResult generate(GenerationRequest request) {
        return generate(request, GenerationListener.NONE, () -> false);
    }

    @Override
    public void close() {
        sessions.forEach(GraphSession::close);
    }
}
