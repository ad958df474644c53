package io.tandem.model.runtime;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.tandem.model.llama.LlamaConfig;
import io.tandem.model.onnx.DecoderGraphBuilder;
import io.tandem.model.onnx.GraphSpec;
import io.tandem.model.onnx.OnnxModel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One ONNX Runtime session for one decoder graph. Sessions are shared; each sequence being
 * generated gets its own {@link KvSequence} holding its KV cache.
 */
public final class GraphSession implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(GraphSession.class);

    /**
     * Environment variable naming a file prefix: when set, every session records ONNX Runtime's
     * per-operator profile there (a Chrome trace JSON written when the session closes). For
     * measurements only: profiling slows every step.
     */
    public static final String PROFILE_ENV = "TANDEM_ORT_PROFILE";

    private final OrtEnvironment env;
    private final OrtSession session;
    private final GraphSpec spec;
    private final LlamaConfig config;
    private final List<String> activeProviders;
    private final boolean takesPastLength;
    private final boolean sharedKvCache;

    private GraphSession(OrtEnvironment env, OrtSession session, GraphSpec spec, LlamaConfig config,
                         List<String> activeProviders, RuntimeOptions options) {
        this.env = env;
        this.session = session;
        this.spec = spec;
        this.config = config;
        this.activeProviders = List.copyOf(activeProviders);
        // Only graphs built for sessions take past_length and can share the buffer; exports cannot.
        this.takesPastLength = takesPastLength(session);
        this.sharedKvCache = options.sharedKvCache() && takesPastLength;
    }

    private static boolean takesPastLength(OrtSession session) {
        try {
            return DecoderGraphBuilder.KV_BUFFER_SHARED.equals(
                    session.getMetadata().getCustomMetadata().get(DecoderGraphBuilder.KV_BUFFER_KEY));
        } catch (OrtException e) {
            log.warn("could not read the graph's metadata ({}); each step copies the KV cache", e.getMessage());
            return false;
        }
    }

    /** Opens a session on a built model; large models go through a temporary file with external data. */
    public static GraphSession open(OnnxModel model, GraphSpec spec, LlamaConfig config, RuntimeOptions options) {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        List<String> active = new ArrayList<>();
        try (OrtSession.SessionOptions so = sessionOptions(spec, options, active)) {
            OrtSession session;
            if (model.fitsInline()) {
                session = env.createSession(model.toBytes(), so);
            } else if (model.externalDataFile() != null) {
                // built into its data file: write the graph beside it, referring to it
                Path file = model.externalDataFile().resolveSibling("model-" + System.nanoTime() + ".onnx");
                try {
                    model.write(file);
                    session = env.createSession(file.toString(), so);
                } finally {
                    Files.deleteIfExists(file);
                }
            } else {
                Path dir = Files.createTempDirectory("tandem-graph");
                Path file = dir.resolve("model.onnx");
                List<Path> written = model.write(file);
                try {
                    session = env.createSession(file.toString(), so);
                } finally {
                    for (Path p : written) {
                        Files.deleteIfExists(p);
                    }
                    Files.deleteIfExists(dir);
                }
            }
            return new GraphSession(env, session, spec, config, active, options);
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime could not load the graph for layers "
                    + spec.firstLayer() + ".." + spec.endLayer() + ": " + e.getMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException("could not stage a large graph on disk", e);
        }
    }

    /** Opens a session on an exported model file (external data is resolved beside it). */
    public static GraphSession open(Path modelFile, GraphSpec spec, LlamaConfig config, RuntimeOptions options) {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        List<String> active = new ArrayList<>();
        try (OrtSession.SessionOptions so = sessionOptions(spec, options, active)) {
            return new GraphSession(env, env.createSession(modelFile.toString(), so), spec, config, active, options);
        } catch (OrtException e) {
            throw new IllegalStateException(modelFile + ": ONNX Runtime could not load it: " + e.getMessage(), e);
        }
    }

    private static OrtSession.SessionOptions sessionOptions(GraphSpec spec, RuntimeOptions options, List<String> active)
            throws OrtException {
        OrtSession.SessionOptions so = new OrtSession.SessionOptions();
        so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        // ONNX Runtime fuses the portable graph's weight-only DequantizeLinear+MatMul into MatMulNBits;
        // give that kernel the same activation precision the fast graph bakes into its nodes.
        so.addConfigEntry("session.qdq_matmulnbits_accuracy_level", Integer.toString(spec.activations().accuracyLevel()));
        if (options.intraOpThreads() > 0) {
            so.setIntraOpNumThreads(options.intraOpThreads());
        }
        for (Map.Entry<String, String> entry : options.sessionConfig().entrySet()) {
            so.addConfigEntry(entry.getKey(), entry.getValue());
        }
        String profile = System.getenv(PROFILE_ENV);
        if (profile != null && !profile.isBlank()) {
            // ONNX Runtime appends a timestamp and .json; the file is complete when the session closes.
            so.enableProfiling(profile);
        }
        for (String provider : options.executionProviders()) {
            try {
                addProvider(so, provider);
                active.add(provider);
            } catch (OrtException | RuntimeException | UnsatisfiedLinkError e) {
                log.warn("execution provider '{}' is unavailable ({}); continuing without it", provider, e.getMessage());
            }
        }
        active.add("cpu");
        return so;
    }

    private static void addProvider(OrtSession.SessionOptions so, String provider) throws OrtException {
        switch (provider) {
            case "cpu" -> { }
            case "cuda" -> so.addCUDA();
            case "tensorrt" -> so.addTensorrt(0);
            case "rocm" -> so.addROCM();
            case "dnnl" -> so.addDnnl(true);
            case "openvino" -> so.addOpenVINO("");
            case "xnnpack" -> so.addXnnpack(Map.of());
            case "qnn" -> so.addQnn(Map.of());
            case "coreml" -> so.addCoreML();
            case "nnapi" -> so.addNnapi();
            case "acl" -> so.addACL(true);
            default -> throw new IllegalArgumentException("unknown execution provider " + provider);
        }
    }

    public KvSequence newSequence() {
        return new KvSequence(this);
    }

    public GraphSpec spec() {
        return spec;
    }

    public LlamaConfig config() {
        return config;
    }

    /** The providers actually in use, cpu last. */
    public List<String> activeProviders() {
        return activeProviders;
    }

    /** Whether sequences keep their KV cache in one preallocated buffer written in place. */
    public boolean sharedKvCache() {
        return sharedKvCache;
    }

    /** Whether the graph takes {@link io.tandem.model.onnx.GraphNames#PAST_LENGTH}. */
    boolean takesPastLength() {
        return takesPastLength;
    }

    OrtEnvironment env() {
        return env;
    }

    OrtSession ortSession() {
        return session;
    }

    @Override
    public void close() {
        try {
            session.close();
        } catch (OrtException e) {
            log.warn("closing an ONNX Runtime session failed: {}", e.getMessage());
        }
    }
}
