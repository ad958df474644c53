package io.tandem.cloud.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tandem.model.engine.EngineOptions;
import io.tandem.model.engine.LoadedModel;
import io.tandem.model.engine.Partitions;
import io.tandem.model.onnx.GraphFlavour;
import io.tandem.model.onnx.WeightPrecision;
import io.tandem.model.runtime.RuntimeOptions;
import io.tandem.model.runtime.StageInput;
import io.tandem.model.sampling.Sampler;
import io.tandem.model.sampling.SamplingParams;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The scheduler over the embedded model's batched runner with real threads: sessions that start at
 * different times, with prompts of different lengths (chunked), all decode greedy to llama2.c's
 * golden ids while their steps share passes; a bad step fails alone.
 */
class StepSchedulerTest {

    static Partitions partitions;
    static int[] golden;

    @BeforeAll
    static void load() throws IOException {
        partitions = new Partitions(LoadedModel.embedded(),
                new EngineOptions(WeightPrecision.FP32, GraphFlavour.FAST, 0, RuntimeOptions.threads(1)));
        try (InputStream in = StepSchedulerTest.class.getResourceAsStream("/io/tandem/model/golden/expected-greedy-256.tokens.txt")) {
            golden = Arrays.stream(new String(in.readAllBytes(), StandardCharsets.UTF_8).trim().split("\\s+"))
                    .mapToInt(Integer::parseInt).toArray();
        }
    }

    @AfterAll
    static void close() {
        partitions.close();
    }

    @Test
    void concurrentSessionsShareBatchesAndEachGetsItsGoldenIds() throws Exception {
        AtomicInteger widest = new AtomicInteger();
        AtomicInteger passes = new AtomicInteger();
        StepScheduler.Listener listener = new StepScheduler.Listener() {
            @Override
            public void pass(int rows, int positions, long nanos) {
                widest.accumulateAndGet(rows, Math::max);
                passes.incrementAndGet();
            }

            @Override
            public void step(long nanos, int positions) {
            }
        };
        int sessions = 10;
        int tokens = 60;
        try (StepScheduler scheduler = new StepScheduler("stories", partitions.batchedRange(0, 5, 8).runner(),
                new BatchSettings(8, Duration.ofMillis(3), 4), Clock.systemUTC(), listener);
             ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<int[]>> answers = new ArrayList<>();
            for (int s = 0; s < sessions; s++) {
                int promptLength = 1 + s % 6; // a prefix of the golden answer as prompt: 1..6 tokens
                int delay = s * 7;
                answers.add(threads.submit(() -> {
                    Thread.sleep(delay);
                    Sampler greedy = new Sampler(SamplingParams.greedy(), 512);
                    try (StepScheduler.Sequence sequence = scheduler.open("agent-" + (delay % 3))) {
                        int[] ids = Arrays.copyOf(golden, promptLength + tokens);
                        long[] prompt = Arrays.stream(Arrays.copyOf(golden, promptLength)).asLongStream().toArray();
                        int next = greedy.sample(sequence.forward(new StageInput.Tokens(prompt))).token();
                        for (int at = promptLength; at < ids.length; at++) {
                            ids[at] = next;
                            next = greedy.sample(sequence.forward(new StageInput.Tokens(new long[] {next}))).token();
                        }
                        return ids;
                    }
                }));
            }
            for (Future<int[]> answer : answers) {
                int[] ids = answer.get();
                assertThat(ids).containsExactly(Arrays.copyOf(golden, ids.length));
            }
            assertThat(widest.get()).as("steps of several sessions shared a pass").isGreaterThan(3);
            assertThat(scheduler.sequences()).isZero();
            assertThat(scheduler.queueDepth()).isZero();
        }
    }

    @Test
    void aBadStepFailsAloneAndAClosedSequenceIsRefused() {
        try (StepScheduler scheduler = new StepScheduler("stories", partitions.batchedRange(0, 5, 8).runner(),
                new BatchSettings(4, Duration.ofMillis(1), 4), Clock.systemUTC(), StepScheduler.Listener.NONE)) {
            StepScheduler.Sequence good = scheduler.open("a");
            StepScheduler.Sequence bad = scheduler.open("b");
            good.forward(new StageInput.Tokens(new long[] {1, 403}));
            assertThat(good.lastComputeNanos()).as("the prompt's pass time").isPositive();
            bad.forward(new StageInput.Tokens(new long[] {1}));
            assertThatThrownBy(() -> bad.forward(new StageInput.Tokens(new long[] {9999})))
                    .hasMessageContaining("outside the vocabulary");
            assertThat(good.forward(new StageInput.Tokens(new long[] {1}))).isNotNull();
            assertThat(good.length()).isEqualTo(3);
            bad.close();
            assertThatThrownBy(() -> bad.forward(new StageInput.Tokens(new long[] {1}))).hasMessageContaining("closed");
            assertThatThrownBy(() -> new StepScheduler("x", partitions.batchedRange(0, 5, 8).runner(),
                    new BatchSettings(9, Duration.ZERO, 4), Clock.systemUTC(), StepScheduler.Listener.NONE))
                    .hasMessageContaining("exceeds the runner's 8 rows");
            good.close();
        }
    }

    @Test
    void aStoppedSchedulerRefusesSteps() {
        StepScheduler scheduler = new StepScheduler("stories", partitions.batchedRange(0, 5, 8).runner(),
                new BatchSettings(4, Duration.ofMillis(1), 4), Clock.systemUTC(), StepScheduler.Listener.NONE);
        StepScheduler.Sequence sequence = scheduler.open("a");
        sequence.forward(new StageInput.Tokens(new long[] {1}));
        scheduler.close();
        assertThatThrownBy(() -> sequence.forward(new StageInput.Tokens(new long[] {1}))).hasMessageContaining("stopped");
        assertThatThrownBy(() -> scheduler.open("b")).hasMessageContaining("stopped");
    }
}
