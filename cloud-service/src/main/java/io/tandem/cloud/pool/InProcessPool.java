package io.tandem.cloud.pool;

import io.tandem.model.engine.Partitions;
import io.tandem.model.runtime.KvSequence;
import io.tandem.model.runtime.StageInput;
import io.tandem.model.runtime.StageOutput;
import io.tandem.model.wire.Mode;
import io.tandem.model.wire.SessionError;
import java.nio.FloatBuffer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntSupplier;

/**
 * Runs the cloud's layers with ONNX Runtime in this process: the embedded default, small
 * deployments and the tests. Sessions of a model share one ONNX Runtime session per layer range.
 */
public final class InProcessPool implements LayerPool {

    private final Map<String, Partitions> models = new LinkedHashMap<>();
    /** Per model hash, built on the first constrained session. */
    private final Map<String, io.tandem.model.constrain.ConstrainedVocabulary> vocabularies =
            new java.util.concurrent.ConcurrentHashMap<>();
    private final IntSupplier queueDepth;

    /**
     * @param queueDepth steps waiting for a worker thread, read from whoever runs the steps
     */
    public InProcessPool(List<Partitions> served, IntSupplier queueDepth) {
        for (Partitions p : served) {
            models.put(p.modelHash(), p);
        }
        this.queueDepth = queueDepth;
    }

    @Override
    public PoolSequence open(String modelHash, Mode mode) {
        return open(modelHash, mode, false);
    }

    @Override
    public PoolSequence openForVerification(String modelHash, Mode mode) {
        return open(modelHash, mode, true);
    }

    private PoolSequence open(String modelHash, Mode mode, boolean allPositions) {
        Partitions model = LayerPool.require(models, modelHash);
        int layers = model.config().layers();
        int first = firstCloudLayer(model, mode);
        Partitions.Range range = model.range(first, layers, allPositions);
        return new Sequence(range, first, layers, model,
                () -> vocabularies.computeIfAbsent(modelHash, h -> model.model().tokenizer().constrainedVocabulary()));
    }

    static int firstCloudLayer(Partitions model, Mode mode) {
        return firstCloudLayer(model.config().layers(), mode);
    }

    /** The first layer {@code mode} leaves to the cloud of a model with {@code layers}; refuses a split that leaves it nothing. */
    static int firstCloudLayer(int layers, Mode mode) {
        return switch (mode) {
            case Mode.Full full -> 0;
            case Mode.Split split -> {
                if (split.firstCloudLayer() >= layers) {
                    throw new SessionRefusedException(SessionError.BAD_MODE, "split layer " + split.firstCloudLayer()
                            + " leaves no layer to the cloud: the model has " + layers + " layers");
                }
                yield split.firstCloudLayer();
            }
        };
    }

    @Override
    public List<PoolModel> models() {
        return models.values().stream().map(p -> new PoolModel(p.model().name(), p.modelHash(), p.config().layers(),
                p.config().dim(), p.config().vocabSize(), p.config().contextLength(),
                p.builtManifests().isEmpty() ? "" : p.builtManifests().getFirst().precision(), p.builtManifests())).toList();
    }

    @Override
    public int queueDepth() {
        return queueDepth.getAsInt();
    }

    @Override
    public void close() {
        models.values().forEach(Partitions::close);
    }

    private static final class Sequence implements PoolSequence {
        private final KvSequence kv;
        private final Partitions.Range range;
        private final int first;
        private final int end;
        private final Partitions model;
        private final java.util.function.Supplier<io.tandem.model.constrain.ConstrainedVocabulary> vocabulary;

        Sequence(Partitions.Range range, int first, int end, Partitions model,
                 java.util.function.Supplier<io.tandem.model.constrain.ConstrainedVocabulary> vocabulary) {
            this.vocabulary = vocabulary;
            this.range = range;
            this.kv = range.session().newSequence();
            this.first = first;
            this.end = end;
            this.model = model;
        }

        @Override
        public int firstLayer() {
            return first;
        }

        @Override
        public int endLayer() {
            return end;
        }

        @Override
        public String manifestHash() {
            return "sha256:" + range.manifest().graphSha256();
        }

        @Override
        public int inputWidth() {
            return first == 0 ? 0 : model.config().dim();
        }

        @Override
        public int vocabSize() {
            return model.config().vocabSize();
        }

        @Override
        public int contextLength() {
            return model.config().contextLength();
        }

        @Override
        public io.tandem.model.constrain.ConstrainedVocabulary vocabulary() {
            return vocabulary.get();
        }

        @Override
        public int length() {
            return kv.length();
        }

        @Override
        public FloatBuffer forward(StageInput input) {
            StageOutput.Logits logits = logits(input);
            if (!logits.allPositions()) {
                return logits.values();
            }
            FloatBuffer all = logits.values();
            int vocab = vocabSize();
            return all.duplicate().position(all.position() + (logits.positions() - 1) * vocab).slice();
        }

        @Override
        public FloatBuffer forwardRows(StageInput input) {
            StageOutput.Logits logits = logits(input);
            if (!logits.allPositions() && logits.positions() > 1) {
                throw new UnsupportedOperationException("this sequence was not opened for verification");
            }
            return logits.values();
        }

        @Override
        public void truncate(int length) {
            kv.truncate(length);
        }

        private StageOutput.Logits logits(StageInput input) {
            return switch (kv.run(input)) {
                case StageOutput.Logits logits -> logits;
                case StageOutput.Hidden hidden -> throw new IllegalStateException("a cloud range must end with the logits");
            };
        }

        @Override
        public void close() {
            kv.close();
        }
    }
}
