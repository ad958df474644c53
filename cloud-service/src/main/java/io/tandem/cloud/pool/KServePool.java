package io.tandem.cloud.pool;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.tandem.cloud.kserve.KServeModels;
import io.tandem.cloud.kserve.proto.GRPCInferenceServiceGrpc;
import io.tandem.cloud.kserve.proto.InferParameter;
import io.tandem.cloud.kserve.proto.ModelInferRequest;
import io.tandem.cloud.kserve.proto.ModelInferResponse;
import io.tandem.cloud.kserve.proto.ServerReadyRequest;
import io.tandem.model.onnx.GraphNames;
import io.tandem.model.runtime.StageInput;
import io.tandem.model.wire.Mode;
import io.tandem.model.wire.SessionError;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the cloud's layers on KServe v2 gRPC endpoints: Triton servers loaded with the model
 * repository {@code bin/tandem export --triton} writes, or other cloud-services. Each session's
 * steps go to one endpoint for its whole life (its KV cache lives there, under its sequence id);
 * a new session goes to the healthy endpoint with the fewest open sequences. Endpoints are probed
 * with ServerReady; one that fails a probe or a step is down until a probe succeeds, and a session
 * whose endpoint dies fails with an error, which makes the edge finish the answer on the device.
 *
 * <p>The models it offers (hash, shape) are those this cloud loaded; their graphs are never built
 * here.
 */
public final class KServePool implements LayerPool {

    private static final Logger log = LoggerFactory.getLogger(KServePool.class);

    /** One endpoint: its channel, health and load. */
    public static final class Endpoint {
        private final String address;
        private final ManagedChannel channel;
        private final GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub stub;
        private final AtomicInteger open = new AtomicInteger();
        private volatile boolean up;
        private volatile String lastError = "not probed yet";

        Endpoint(String address) {
            this.address = address;
            int colon = address.lastIndexOf(':');
            this.channel = NettyChannelBuilder.forAddress(address.substring(0, colon),
                    Integer.parseInt(address.substring(colon + 1))).usePlaintext()
                    .maxInboundMessageSize(256 << 20).build();
            this.stub = GRPCInferenceServiceGrpc.newBlockingStub(channel);
        }

        public String address() {
            return address;
        }

        public boolean up() {
            return up;
        }

        public int openSequences() {
            return open.get();
        }

        public String lastError() {
            return lastError;
        }

        void markDown(String why) {
            if (up) {
                log.warn("pool endpoint {} is down: {}", address, why);
            }
            up = false;
            lastError = why;
        }
    }

    private final Map<String, PoolModel> models = new LinkedHashMap<>();
    private final List<Endpoint> endpoints = new ArrayList<>();
    private final Duration stepTimeout;
    private final ScheduledExecutorService prober;

    public KServePool(List<PoolModel> served, List<String> addresses, Duration healthInterval, Duration stepTimeout) {
        if (addresses.isEmpty()) {
            throw new IllegalArgumentException("a KServe pool needs at least one endpoint");
        }
        served.forEach(m -> models.put(m.modelHash(), m));
        addresses.forEach(a -> endpoints.add(new Endpoint(a)));
        this.stepTimeout = stepTimeout;
        probe();
        this.prober = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon().name("tandem-pool-probe").unstarted(r));
        prober.scheduleWithFixedDelay(this::probe, healthInterval.toMillis(), healthInterval.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Probes every endpoint once with ServerReady (5 s each: a first connection on a loaded machine is slow). */
    public synchronized void probe() {
        for (Endpoint e : endpoints) {
            try {
                boolean ready = e.stub.withDeadlineAfter(5, TimeUnit.SECONDS).serverReady(ServerReadyRequest.getDefaultInstance()).getReady();
                if (ready && !e.up) {
                    log.info("pool endpoint {} is up", e.address);
                }
                if (ready) {
                    e.up = true;
                    e.lastError = "";
                } else {
                    e.markDown("not ready");
                }
            } catch (StatusRuntimeException ex) {
                e.markDown(ex.getStatus().getCode() + ": " + ex.getStatus().getDescription());
            }
        }
    }

    public List<Endpoint> endpoints() {
        return List.copyOf(endpoints);
    }

    @Override
    public PoolSequence open(String modelHash, Mode mode) {
        PoolModel model = LayerPool.require(models, modelHash);
        int first = InProcessPool.firstCloudLayer(model.layers(), mode);
        Endpoint chosen = leastLoaded();
        if (chosen == null) {
            // all down at the last probe: look again before refusing, an endpoint may be back (or slow to first connect)
            probe();
            chosen = leastLoaded();
        }
        if (chosen == null) {
            throw new SessionRefusedException(SessionError.INTERNAL, "no pool endpoint is up: "
                    + endpoints.stream().map(e -> e.address + " (" + e.lastError + ")").toList());
        }
        return new RemoteSequence(chosen, model, first, KServeModels.name(model, first));
    }

    private Endpoint leastLoaded() {
        Endpoint chosen = null;
        for (Endpoint e : endpoints) {
            if (e.up && (chosen == null || e.open.get() < chosen.open.get())) {
                chosen = e;
            }
        }
        return chosen;
    }

    @Override
    public List<PoolModel> models() {
        return List.copyOf(models.values());
    }

    @Override
    public int queueDepth() {
        return 0;
    }

    @Override
    public void close() {
        prober.shutdownNow();
        endpoints.forEach(e -> e.channel.shutdownNow());
    }

    /** A session's sequence on one endpoint. */
    private final class RemoteSequence implements PoolSequence {
        private final Endpoint endpoint;
        private final PoolModel model;
        private final int first;
        private final String name;
        private final long id = ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);
        private final FloatBuffer logits;
        private int length;
        private boolean started;
        private boolean closed;

        RemoteSequence(Endpoint endpoint, PoolModel model, int first, String name) {
            this.endpoint = endpoint;
            this.model = model;
            this.first = first;
            this.name = name;
            this.logits = FloatBuffer.allocate(model.vocabSize());
            endpoint.open.incrementAndGet();
        }

        @Override
        public int firstLayer() {
            return first;
        }

        @Override
        public int endLayer() {
            return model.layers();
        }

        @Override
        public String manifestHash() {
            return "kserve:" + endpoint.address + "/" + name;
        }

        @Override
        public int inputWidth() {
            return first == 0 ? 0 : model.width();
        }

        @Override
        public int vocabSize() {
            return model.vocabSize();
        }

        @Override
        public int contextLength() {
            return model.contextLength();
        }

        @Override
        public int length() {
            return length;
        }

        @Override
        public FloatBuffer forward(StageInput input) {
            ModelInferRequest.Builder request = request();
            if (!started) {
                request.putParameters("sequence_start", InferParameter.newBuilder().setBoolParam(true).build());
            }
            ModelInferRequest.InferInputTensor.Builder tensor = ModelInferRequest.InferInputTensor.newBuilder();
            ByteString raw;
            switch (input) {
                case StageInput.Tokens tokens -> {
                    tensor.setName(GraphNames.INPUT_IDS).setDatatype("INT64").addShape(1).addShape(tokens.ids().length);
                    ByteBuffer b = ByteBuffer.allocate(tokens.ids().length * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
                    b.asLongBuffer().put(tokens.ids());
                    raw = ByteString.copyFrom(b.array());
                }
                case StageInput.Hidden hidden -> {
                    tensor.setName(GraphNames.HIDDEN_IN).setDatatype("FP32").addShape(1).addShape(hidden.positions())
                            .addShape(model.width());
                    raw = ByteString.copyFrom(hidden.bytes().duplicate());
                }
            }
            request.addInputs(tensor).addRawInputContents(raw)
                    .addOutputs(ModelInferRequest.InferRequestedOutputTensor.newBuilder().setName(GraphNames.LOGITS));
            ModelInferResponse response;
            try {
                response = endpoint.stub.withDeadlineAfter(stepTimeout.toMillis(), TimeUnit.MILLISECONDS).modelInfer(request.build());
            } catch (StatusRuntimeException e) {
                switch (e.getStatus().getCode()) {
                    case INVALID_ARGUMENT -> throw new IllegalArgumentException(e.getStatus().getDescription());
                    case OUT_OF_RANGE -> throw new io.tandem.model.runtime.ContextFullException(length, input.positions(),
                            model.contextLength());
                    case UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED, UNKNOWN ->
                            endpoint.markDown(e.getStatus().getCode() + ": " + e.getStatus().getDescription());
                    default -> { }
                }
                throw new SessionRefusedException(SessionError.INTERNAL, "the pool endpoint " + endpoint.address
                        + " failed the step: " + e.getStatus().getCode() + " " + e.getStatus().getDescription());
            }
            started = true;
            length += input.positions();
            if (response.getRawOutputContentsCount() != 1
                    || response.getRawOutputContents(0).size() != model.vocabSize() * Float.BYTES) {
                throw new SessionRefusedException(SessionError.INTERNAL, "the pool endpoint " + endpoint.address
                        + " answered without " + model.vocabSize() + " fp32 logits");
            }
            logits.clear();
            logits.put(response.getRawOutputContents(0).asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer());
            return logits.flip();
        }

        private ModelInferRequest.Builder request() {
            return ModelInferRequest.newBuilder().setModelName(name)
                    .putParameters("sequence_id", InferParameter.newBuilder().setUint64Param(id).build());
        }

        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            endpoint.open.decrementAndGet();
            if (started && endpoint.up) {
                // ends the sequence at once on a cloud-service; Triton frees it after max_sequence_idle_microseconds
                try {
                    endpoint.stub.withDeadlineAfter(2, TimeUnit.SECONDS).modelInfer(request()
                            .putParameters("sequence_end", InferParameter.newBuilder().setBoolParam(true).build()).build());
                } catch (StatusRuntimeException e) {
                    log.debug("ending sequence {} on {} failed: {}", id, endpoint.address, e.getStatus());
                }
            }
        }
    }
}
