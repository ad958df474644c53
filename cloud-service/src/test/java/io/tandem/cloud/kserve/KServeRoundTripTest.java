package io.tandem.cloud.kserve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.tandem.cloud.batch.BatchSettings;
import io.tandem.cloud.batch.StepScheduler;
import io.tandem.cloud.kserve.proto.GRPCInferenceServiceGrpc;
import io.tandem.cloud.kserve.proto.InferParameter;
import io.tandem.cloud.kserve.proto.ModelInferRequest;
import io.tandem.cloud.kserve.proto.ModelMetadataRequest;
import io.tandem.cloud.kserve.proto.ModelMetadataResponse;
import io.tandem.cloud.kserve.proto.ModelReadyRequest;
import io.tandem.cloud.kserve.proto.ModelStreamInferResponse;
import io.tandem.cloud.kserve.proto.ServerLiveRequest;
import io.tandem.cloud.kserve.proto.ServerReadyRequest;
import io.tandem.cloud.pool.BatchingPool;
import io.tandem.cloud.pool.KServePool;
import io.tandem.cloud.pool.PoolSequence;
import io.tandem.cloud.pool.SessionRefusedException;
import io.tandem.model.engine.EngineOptions;
import io.tandem.model.engine.LoadedModel;
import io.tandem.model.engine.Partitions;
import io.tandem.model.onnx.GraphFlavour;
import io.tandem.model.onnx.WeightPrecision;
import io.tandem.model.runtime.KvSequence;
import io.tandem.model.runtime.RuntimeOptions;
import io.tandem.model.runtime.StageInput;
import io.tandem.model.runtime.StageOutput;
import io.tandem.model.sampling.Sampler;
import io.tandem.model.sampling.SamplingParams;
import io.tandem.model.wire.Mode;
import io.tandem.model.wire.SessionError;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A KServe pool talking to a KServe v2 gRPC server over loopback, both real: the server runs the
 * embedded model in a batching pool, the pool client sends each session's steps with
 * sequence_id/start/end. Whole-model and split sessions (every first layer) give llama2.c's golden
 * greedy ids; the protocol's errors are the documented status codes; a server that goes away
 * fails its sessions and shows as down.
 */
class KServeRoundTripTest {

    static BatchingPool remote;
    static KServeService service;
    static Server server;
    static Partitions head;
    static int[] golden;

    @BeforeAll
    static void start() throws Exception {
        EngineOptions options = new EngineOptions(WeightPrecision.FP32, GraphFlavour.FAST, 0, RuntimeOptions.threads(1));
        remote = new BatchingPool(List.of(new Partitions(LoadedModel.embedded(), options)),
                new BatchSettings(8, Duration.ofMillis(2), 16), Clock.systemUTC(), (s, m, r) -> StepScheduler.Listener.NONE);
        service = new KServeService(remote, Clock.systemUTC(), Duration.ofMinutes(1), "test");
        server = NettyServerBuilder.forPort(0).addService(service).executor(Executors.newVirtualThreadPerTaskExecutor())
                .build().start();
        head = new Partitions(LoadedModel.embedded(), options);
        try (InputStream in = KServeRoundTripTest.class.getResourceAsStream("/io/tandem/model/golden/expected-greedy-256.tokens.txt")) {
            golden = Arrays.stream(new String(in.readAllBytes(), StandardCharsets.UTF_8).trim().split("\\s+"))
                    .mapToInt(Integer::parseInt).toArray();
        }
    }

    @AfterAll
    static void stop() {
        server.shutdownNow();
        remote.close();
        head.close();
    }

    @Test
    void preWarmingBuildsTheRangeAndRunsASequenceThroughIt() {
        assertThat(remote.warm(3)).containsExactly("stories260K layers 3..5");
        assertThat(remote.schedulers()).extracting(StepScheduler::name).contains("stories260K_3_5");
        assertThat(remote.warm(7)).as("a range the model does not have").isEmpty();
        assertThat(remote.schedulers()).allSatisfy(s -> assertThat(s.sequences()).isZero());
    }

    static KServePool client() {
        return new KServePool(remote.models(), List.of("127.0.0.1:" + server.getPort()), Duration.ofMillis(200),
                Duration.ofSeconds(30));
    }

    @Test
    void wholeAndSplitSessionsThroughThePoolGiveTheGoldenIds() throws Exception {
        String hash = remote.models().getFirst().modelHash();
        int layers = remote.models().getFirst().layers();
        int openBefore = service.openSequences();
        try (KServePool pool = client(); var threads = Executors.newVirtualThreadPerTaskExecutor()) {
            List<java.util.concurrent.Future<int[]>> runs = new ArrayList<>();
            for (int k = 0; k < layers; k++) {
                int split = k;
                runs.add(threads.submit(() -> greedy(pool, hash, split, 40)));
            }
            for (java.util.concurrent.Future<int[]> run : runs) {
                assertThat(run.get()).containsExactly(Arrays.copyOf(golden, 41));
            }
            assertThat(pool.endpoints().getFirst().openSequences()).isZero();
        }
        assertThat(service.openSequences()).as("sequence_end freed every sequence").isEqualTo(openBefore);
    }

    static int[] greedy(KServePool pool, String hash, int split, int tokens) {
        Sampler sampler = new Sampler(SamplingParams.greedy(), 512);
        int[] ids = new int[tokens + 1];
        ids[0] = 1;
        try (PoolSequence sequence = pool.open(hash, split == 0 ? new Mode.Full() : new Mode.Split(split));
             KvSequence local = split == 0 ? null : head.range(0, split).session().newSequence()) {
            for (int i = 0; i < tokens; i++) {
                StageInput in = new StageInput.Tokens(new long[] {ids[i]});
                if (local != null) {
                    StageOutput.Hidden h = (StageOutput.Hidden) local.run(in);
                    ByteBuffer copy = ByteBuffer.allocate(h.bytes().remaining());
                    copy.put(h.bytes().duplicate()).flip();
                    in = new StageInput.Hidden(copy, 1);
                }
                ids[i + 1] = sampler.sample(sequence.forward(in)).token();
            }
        }
        return ids;
    }

    @Test
    void theProtocolAnswersAsKServeV2SaysIncludingErrors() throws Exception {
        ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
        try {
            var stub = GRPCInferenceServiceGrpc.newBlockingStub(channel);
            assertThat(stub.serverLive(ServerLiveRequest.getDefaultInstance()).getLive()).isTrue();
            assertThat(stub.serverReady(ServerReadyRequest.getDefaultInstance()).getReady()).isTrue();
            assertThat(stub.modelReady(ModelReadyRequest.newBuilder().setName("stories260K_2_5").build()).getReady()).isTrue();
            assertThat(stub.modelReady(ModelReadyRequest.newBuilder().setName("stories260K_5_5").build()).getReady()).isFalse();
            ModelMetadataResponse meta = stub.modelMetadata(ModelMetadataRequest.newBuilder().setName("stories260K_2_5").build());
            assertThat(meta.getInputs(0).getName()).isEqualTo("hidden_in");
            assertThat(meta.getInputs(0).getDatatype()).isEqualTo("FP32");
            assertThat(meta.getInputs(0).getShapeList()).containsExactly(1L, -1L, 64L);
            assertThat(meta.getOutputs(0).getShapeList()).containsExactly(1L, 512L);
            assertThat(stub.modelMetadata(ModelMetadataRequest.newBuilder().setName("stories260K_0_5").build())
                    .getInputs(0).getDatatype()).isEqualTo("INT64");

            assertStatus(() -> stub.modelMetadata(ModelMetadataRequest.newBuilder().setName("nope").build()), Status.Code.NOT_FOUND, "nope");
            assertStatus(() -> stub.modelInfer(tokens("stories260K_0_5", null, true, 1)), Status.Code.INVALID_ARGUMENT, "sequence_id");
            assertStatus(() -> stub.modelInfer(tokens("stories260K_0_5", 77L, false, 1)), Status.Code.FAILED_PRECONDITION,
                    "sequence_start=true");
            assertStatus(() -> stub.modelInfer(tokens("stories260K_0_5", 78L, true, 600)), Status.Code.INVALID_ARGUMENT,
                    "outside the vocabulary");
            // tensor contents instead of raw bytes, and a string sequence id
            ModelInferRequest viaContents = ModelInferRequest.newBuilder().setModelName("stories260K_0_5")
                    .putParameters("sequence_id", InferParameter.newBuilder().setStringParam("kiosk-7").build())
                    .putParameters("sequence_start", InferParameter.newBuilder().setBoolParam(true).build())
                    .putParameters("sequence_end", InferParameter.newBuilder().setBoolParam(true).build())
                    .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("input_ids").setDatatype("INT64")
                            .addShape(1).addShape(1).setContents(io.tandem.cloud.kserve.proto.InferTensorContents.newBuilder()
                                    .addInt64Contents(1)))
                    .build();
            var answer = stub.modelInfer(viaContents);
            FloatBufferArgmax argmax = new FloatBufferArgmax(answer.getRawOutputContents(0));
            assertThat(argmax.index).isEqualTo(golden[1]);

            // the stream: a failed request is answered in-band and the stream goes on
            List<ModelStreamInferResponse> responses = new ArrayList<>();
            CountDownLatch done = new CountDownLatch(1);
            var requests = GRPCInferenceServiceGrpc.newStub(channel).modelStreamInfer(new StreamObserver<>() {
                @Override
                public void onNext(ModelStreamInferResponse value) {
                    responses.add(value);
                }

                @Override
                public void onError(Throwable t) {
                    done.countDown();
                }

                @Override
                public void onCompleted() {
                    done.countDown();
                }
            });
            requests.onNext(tokens("stories260K_0_5", 90L, false, 1));
            requests.onNext(tokens("stories260K_0_5", 91L, true, 1));
            requests.onNext(tokens("stories260K_0_5", 91L, false, golden[1]));
            requests.onCompleted();
            assertThat(done.await(30, TimeUnit.SECONDS)).isTrue();
            assertThat(responses).hasSize(3);
            assertThat(responses.get(0).getErrorMessage()).contains("not open");
            assertThat(new FloatBufferArgmax(responses.get(1).getInferResponse().getRawOutputContents(0)).index).isEqualTo(golden[1]);
            assertThat(new FloatBufferArgmax(responses.get(2).getInferResponse().getRawOutputContents(0)).index).isEqualTo(golden[2]);
        } finally {
            channel.shutdownNow();
        }
    }

    @Test
    void anEndpointThatGoesAwayFailsItsSessionsAndShowsDown() throws Exception {
        // a second server on the same pool, stopped mid-sequence
        Server second = NettyServerBuilder.forPort(0).addService(new KServeService(remote, Clock.systemUTC(),
                Duration.ofMinutes(1), "test")).build().start();
        String hash = remote.models().getFirst().modelHash();
        int port = second.getPort();
        try (KServePool pool = new KServePool(remote.models(), List.of("127.0.0.1:" + port),
                Duration.ofMillis(100), Duration.ofSeconds(5))) {
            assertThat(pool.endpoints().getFirst().up()).isTrue();
            PoolSequence sequence = pool.open(hash, new Mode.Full());
            sequence.forward(new StageInput.Tokens(new long[] {1}));
            second.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            assertThatThrownBy(() -> sequence.forward(new StageInput.Tokens(new long[] {golden[1]})))
                    .isInstanceOf(SessionRefusedException.class)
                    .satisfies(e -> assertThat(((SessionRefusedException) e).error()).isEqualTo(SessionError.INTERNAL))
                    .hasMessageContaining("127.0.0.1:" + port);
            sequence.close();
            assertThat(pool.endpoints().getFirst().up()).isFalse();
            assertThatThrownBy(() -> pool.open(hash, new Mode.Full())).hasMessageContaining("no pool endpoint is up");
        }
    }

    @Test
    void newSessionsGoToTheLeastLoadedHealthyEndpoint() throws Exception {
        Server second = NettyServerBuilder.forPort(0).addService(new KServeService(remote, Clock.systemUTC(),
                Duration.ofMinutes(1), "test")).build().start();
        String hash = remote.models().getFirst().modelHash();
        try (KServePool pool = new KServePool(remote.models(), List.of("127.0.0.1:" + server.getPort(),
                "127.0.0.1:" + second.getPort()), Duration.ofSeconds(60), Duration.ofSeconds(5))) {
            List<PoolSequence> open = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                open.add(pool.open(hash, new Mode.Full()));
            }
            assertThat(pool.endpoints()).extracting(KServePool.Endpoint::openSequences).containsExactly(2, 2);
            open.getFirst().close();
            open.get(2).close();
            assertThat(pool.endpoints()).extracting(KServePool.Endpoint::openSequences).containsExactly(0, 2);
            open.add(pool.open(hash, new Mode.Full()));
            assertThat(pool.endpoints()).extracting(KServePool.Endpoint::openSequences).containsExactly(1, 2);
            open.forEach(PoolSequence::close);
        } finally {
            second.shutdownNow();
        }
    }

    static ModelInferRequest tokens(String model, Long sequenceId, boolean start, long id) {
        ModelInferRequest.Builder b = ModelInferRequest.newBuilder().setModelName(model);
        if (sequenceId != null) {
            b.putParameters("sequence_id", InferParameter.newBuilder().setUint64Param(sequenceId).build());
        }
        if (start) {
            b.putParameters("sequence_start", InferParameter.newBuilder().setBoolParam(true).build());
        }
        ByteBuffer raw = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, id);
        return b.addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("input_ids").setDatatype("INT64")
                .addShape(1).addShape(1)).addRawInputContents(ByteString.copyFrom(raw.array())).build();
    }

    static void assertStatus(Runnable call, Status.Code code, String message) {
        assertThatThrownBy(call::run).isInstanceOf(StatusRuntimeException.class)
                .satisfies(e -> assertThat(((StatusRuntimeException) e).getStatus().getCode()).isEqualTo(code))
                .hasMessageContaining(message);
    }

    /** The index of the largest little-endian float. */
    static final class FloatBufferArgmax {
        final int index;

        FloatBufferArgmax(ByteString raw) {
            var floats = raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
            int best = 0;
            for (int i = 1; i < floats.remaining(); i++) {
                if (floats.get(i) > floats.get(best)) {
                    best = i;
                }
            }
            index = best;
        }
    }
}
