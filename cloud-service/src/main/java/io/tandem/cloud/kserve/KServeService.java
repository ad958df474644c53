package io.tandem.cloud.kserve;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.tandem.cloud.kserve.proto.GRPCInferenceServiceGrpc;
import io.tandem.cloud.kserve.proto.InferParameter;
import io.tandem.cloud.kserve.proto.ModelInferRequest;
import io.tandem.cloud.kserve.proto.ModelInferResponse;
import io.tandem.cloud.kserve.proto.ModelMetadataRequest;
import io.tandem.cloud.kserve.proto.ModelMetadataResponse;
import io.tandem.cloud.kserve.proto.ModelReadyRequest;
import io.tandem.cloud.kserve.proto.ModelReadyResponse;
import io.tandem.cloud.kserve.proto.ModelStreamInferResponse;
import io.tandem.cloud.kserve.proto.ServerLiveRequest;
import io.tandem.cloud.kserve.proto.ServerLiveResponse;
import io.tandem.cloud.kserve.proto.ServerMetadataRequest;
import io.tandem.cloud.kserve.proto.ServerMetadataResponse;
import io.tandem.cloud.kserve.proto.ServerReadyRequest;
import io.tandem.cloud.kserve.proto.ServerReadyResponse;
import io.tandem.cloud.pool.LayerPool;
import io.tandem.cloud.pool.PoolSequence;
import io.tandem.cloud.pool.SessionRefusedException;
import io.tandem.model.onnx.GraphNames;
import io.tandem.model.runtime.ContextFullException;
import io.tandem.model.runtime.StageInput;
import io.tandem.model.wire.Mode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Triton's GRPCInferenceService over a {@link LayerPool}: each layer range is a stateful model
 * (sequence batcher semantics). A request carries the parameters {@code sequence_id} (uint64,
 * int64 or string), {@code sequence_start} on a sequence's first request and {@code sequence_end}
 * on its last; the KV cache stays here between the requests of a sequence, as Triton's implicit
 * state keeps it. A request with {@code sequence_end} and no inputs only ends the sequence.
 * Sequences idle longer than the idle timeout are freed.
 */
public final class KServeService extends GRPCInferenceServiceGrpc.GRPCInferenceServiceImplBase {

    private static final Logger log = LoggerFactory.getLogger(KServeService.class);

    /** An open sequence: its pool state and when it was last used. */
    private static final class Open {
        final PoolSequence sequence;
        volatile long lastUsedMillis;

        Open(PoolSequence sequence, long now) {
            this.sequence = sequence;
            this.lastUsedMillis = now;
        }
    }

    private final LayerPool pool;
    private final Clock clock;
    private final Duration idleTimeout;
    private final String version;
    private final Map<String, Open> sequences = new ConcurrentHashMap<>();
    private volatile boolean ready = true;

    public KServeService(LayerPool pool, Clock clock, Duration idleTimeout, String version) {
        this.pool = pool;
        this.clock = clock;
        this.idleTimeout = idleTimeout;
        this.version = version;
    }

    /** Sequences open over this endpoint. */
    public int openSequences() {
        return sequences.size();
    }

    /** Readiness goes false when the service shuts down, so pools stop sending new sequences. */
    public void setReady(boolean ready) {
        this.ready = ready;
    }

    @Override
    public void serverLive(ServerLiveRequest request, StreamObserver<ServerLiveResponse> out) {
        reply(out, ServerLiveResponse.newBuilder().setLive(true).build());
    }

    @Override
    public void serverReady(ServerReadyRequest request, StreamObserver<ServerReadyResponse> out) {
        reply(out, ServerReadyResponse.newBuilder().setReady(ready).build());
    }

    @Override
    public void modelReady(ModelReadyRequest request, StreamObserver<ModelReadyResponse> out) {
        boolean known = KServeModels.of(pool.models()).containsKey(request.getName());
        reply(out, ModelReadyResponse.newBuilder().setReady(ready && known).build());
    }

    @Override
    public void serverMetadata(ServerMetadataRequest request, StreamObserver<ServerMetadataResponse> out) {
        reply(out, ServerMetadataResponse.newBuilder().setName("tandem-cloud").setVersion(version)
                .addExtensions("sequence").build());
    }

    @Override
    public void modelMetadata(ModelMetadataRequest request, StreamObserver<ModelMetadataResponse> out) {
        KServeModels.Range range = KServeModels.of(pool.models()).get(request.getName());
        if (range == null) {
            out.onError(unknownModel(request.getName()));
            return;
        }
        ModelMetadataResponse.TensorMetadata.Builder input = ModelMetadataResponse.TensorMetadata.newBuilder()
                .setName(range.inputName()).setDatatype(range.inputType());
        for (long d : range.inputShape()) {
            input.addShape(d);
        }
        ModelMetadataResponse.TensorMetadata.Builder output = ModelMetadataResponse.TensorMetadata.newBuilder()
                .setName(GraphNames.LOGITS).setDatatype("FP32");
        for (long d : range.outputShape()) {
            output.addShape(d);
        }
        reply(out, ModelMetadataResponse.newBuilder().setName(range.name()).addVersions("1")
                .setPlatform("onnxruntime_onnx").addInputs(input).addOutputs(output).build());
    }

    @Override
    public void modelInfer(ModelInferRequest request, StreamObserver<ModelInferResponse> out) {
        try {
            reply(out, infer(request));
        } catch (StatusRuntimeException e) {
            out.onError(e);
        }
    }

    @Override
    public StreamObserver<ModelInferRequest> modelStreamInfer(StreamObserver<ModelStreamInferResponse> out) {
        return new StreamObserver<>() {
            @Override
            public void onNext(ModelInferRequest request) {
                ModelStreamInferResponse.Builder response = ModelStreamInferResponse.newBuilder();
                try {
                    response.setInferResponse(infer(request));
                } catch (StatusRuntimeException e) {
                    // Triton answers a failed request in-band and keeps the stream open
                    response.setErrorMessage(e.getStatus().getDescription());
                }
                synchronized (out) {
                    out.onNext(response.build());
                }
            }

            @Override
            public void onError(Throwable t) {
                log.debug("a KServe stream ended with an error: {}", t.getMessage());
            }

            @Override
            public void onCompleted() {
                synchronized (out) {
                    out.onCompleted();
                }
            }
        };
    }

    ModelInferResponse infer(ModelInferRequest request) {
        KServeModels.Range range = KServeModels.of(pool.models()).get(request.getModelName());
        if (range == null) {
            throw unknownModel(request.getModelName());
        }
        String sequenceId = sequenceId(request);
        boolean start = flag(request, "sequence_start");
        boolean end = flag(request, "sequence_end");
        String key = range.name() + "/" + sequenceId;
        Open open;
        if (start) {
            Open previous = sequences.remove(key);
            if (previous != null) {
                previous.sequence.close();
            }
            try {
                open = new Open(pool.open(range.model().modelHash(), range.firstLayer() == 0 ? new Mode.Full()
                        : new Mode.Split(range.firstLayer()), "kserve"), clock.millis());
            } catch (SessionRefusedException e) {
                throw Status.UNAVAILABLE.withDescription(e.getMessage()).asRuntimeException();
            }
            sequences.put(key, open);
        } else {
            open = sequences.get(key);
            if (open == null) {
                throw Status.FAILED_PRECONDITION.withDescription("sequence " + sequenceId + " of " + range.name()
                        + " is not open: send sequence_start=true on its first request").asRuntimeException();
            }
        }
        open.lastUsedMillis = clock.millis();
        ModelInferResponse.Builder response = ModelInferResponse.newBuilder().setModelName(range.name())
                .setModelVersion("1").setId(request.getId());
        try {
            if (request.getInputsCount() == 0 && end) {
                return response.build();
            }
            FloatBuffer logits = open.sequence.forward(input(range, request));
            ByteBuffer bytes = ByteBuffer.allocate(logits.remaining() * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            bytes.asFloatBuffer().put(logits.duplicate());
            response.addOutputs(ModelInferResponse.InferOutputTensor.newBuilder().setName(GraphNames.LOGITS)
                    .setDatatype("FP32").addShape(1).addShape(range.model().vocabSize()));
            response.addRawOutputContents(ByteString.copyFrom(bytes.array()));
            return response.build();
        } catch (ContextFullException e) {
            end = true;
            throw Status.OUT_OF_RANGE.withDescription(e.getMessage()).asRuntimeException();
        } catch (IllegalArgumentException e) {
            throw Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException();
        } finally {
            if (end && sequences.remove(key, open)) {
                open.sequence.close();
            }
        }
    }

    private static StageInput input(KServeModels.Range range, ModelInferRequest request) {
        if (request.getInputsCount() != 1) {
            throw new IllegalArgumentException(range.name() + " takes one input, " + range.inputName() + "; the request has "
                    + request.getInputsCount());
        }
        ModelInferRequest.InferInputTensor tensor = request.getInputs(0);
        if (!tensor.getName().equals(range.inputName()) || !tensor.getDatatype().equals(range.inputType())) {
            throw new IllegalArgumentException(range.name() + " takes " + range.inputName() + " (" + range.inputType()
                    + "), not " + tensor.getName() + " (" + tensor.getDatatype() + ")");
        }
        long[] expected = range.inputShape();
        if (tensor.getShapeCount() != expected.length || tensor.getShape(0) != 1
                || (expected.length == 3 && tensor.getShape(2) != expected[2]) || tensor.getShape(1) < 1) {
            throw new IllegalArgumentException(range.inputName() + " must be shaped " + java.util.Arrays.toString(expected)
                    + " with a positive sequence length, was " + tensor.getShapeList());
        }
        int positions = Math.toIntExact(tensor.getShape(1));
        ByteBuffer raw;
        if (request.getRawInputContentsCount() == 1) {
            raw = request.getRawInputContents(0).asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        } else if (tensor.hasContents()) {
            raw = fromContents(range, tensor, positions);
        } else {
            throw new IllegalArgumentException(range.inputName() + " has no data: send raw_input_contents or contents");
        }
        if (range.takesTokens()) {
            if (raw.remaining() != positions * Long.BYTES) {
                throw new IllegalArgumentException(range.inputName() + " holds " + raw.remaining() + " bytes, not "
                        + positions + " int64 values");
            }
            long[] ids = new long[positions];
            raw.asLongBuffer().get(ids);
            return new StageInput.Tokens(ids);
        }
        return new StageInput.Hidden(raw, positions);
    }

    private static ByteBuffer fromContents(KServeModels.Range range, ModelInferRequest.InferInputTensor tensor, int positions) {
        if (range.takesTokens()) {
            ByteBuffer b = ByteBuffer.allocate(tensor.getContents().getInt64ContentsCount() * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            tensor.getContents().getInt64ContentsList().forEach(b::putLong);
            return b.flip();
        }
        ByteBuffer b = ByteBuffer.allocate(tensor.getContents().getFp32ContentsCount() * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        tensor.getContents().getFp32ContentsList().forEach(b::putFloat);
        return b.flip();
    }

    private static String sequenceId(ModelInferRequest request) {
        InferParameter p = request.getParametersMap().get("sequence_id");
        String id = p == null ? "" : switch (p.getParameterChoiceCase()) {
            case UINT64_PARAM -> Long.toUnsignedString(p.getUint64Param());
            case INT64_PARAM -> Long.toString(p.getInt64Param());
            case STRING_PARAM -> p.getStringParam();
            default -> "";
        };
        if (id.isEmpty() || id.equals("0")) {
            throw Status.INVALID_ARGUMENT.withDescription("these models are stateful: every request needs a non-zero "
                    + "sequence_id parameter (uint64 or string)").asRuntimeException();
        }
        return id;
    }

    private static boolean flag(ModelInferRequest request, String name) {
        InferParameter p = request.getParametersMap().get(name);
        return p != null && p.getParameterChoiceCase() == InferParameter.ParameterChoiceCase.BOOL_PARAM && p.getBoolParam();
    }

    private static StatusRuntimeException unknownModel(String name) {
        return Status.NOT_FOUND.withDescription("no model '" + name + "' here").asRuntimeException();
    }

    /** Frees sequences idle longer than the timeout; called periodically. */
    public void sweepIdle() {
        long now = clock.millis();
        sequences.entrySet().removeIf(e -> {
            boolean idle = now - e.getValue().lastUsedMillis > idleTimeout.toMillis();
            if (idle) {
                e.getValue().sequence.close();
            }
            return idle;
        });
    }

    /** Frees every sequence. */
    public void closeAll() {
        sequences.values().forEach(o -> o.sequence.close());
        sequences.clear();
    }

    private static <T> void reply(StreamObserver<T> out, T value) {
        out.onNext(value);
        out.onCompleted();
    }
}
