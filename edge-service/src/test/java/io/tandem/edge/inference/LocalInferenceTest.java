package io.tandem.edge.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tandem.model.generate.FinishReason;
import io.tandem.model.generate.GeneratedToken;
import io.tandem.model.generate.GenerationRequest;
import io.tandem.model.generate.GenerationResult;
import io.tandem.model.sampling.SamplingParams;
import io.tandem.model.sampling.TokenChoice;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.test.StepVerifier;

/** Admission, queueing and cancellation over a scripted generation whose pace the test controls. */
class LocalInferenceTest {

    static final GenerationRequest REQUEST = new GenerationRequest(new int[] {1}, 100, List.of(), SamplingParams.greedy());

    /** Emits one token each time the test releases a permit, until cancelled or 100 tokens. */
    static final class PacedGeneration implements LocalInference.Generation {
        final java.util.concurrent.Semaphore permits = new java.util.concurrent.Semaphore(0);
        final AtomicInteger produced = new AtomicInteger();
        final AtomicInteger started = new AtomicInteger();
        final CountDownLatch finished = new CountDownLatch(1);

        @Override
        public GenerationResult run(GenerationRequest request, io.tandem.model.generate.GenerationListener listener,
                                    java.util.function.BooleanSupplier cancelled) {
            started.incrementAndGet();
            List<TokenChoice> tokens = new ArrayList<>();
            FinishReason reason = FinishReason.MAX_TOKENS;
            try {
                while (tokens.size() < request.maxTokens()) {
                    if (cancelled.getAsBoolean()) {
                        reason = FinishReason.CANCELLED;
                        break;
                    }
                    permits.tryAcquire(5, TimeUnit.SECONDS);
                    TokenChoice choice = new TokenChoice(5, -0.1f, 0.5f, 1f);
                    tokens.add(choice);
                    produced.incrementAndGet();
                    listener.onToken(new GeneratedToken(tokens.size() - 1, choice, "x"));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                finished.countDown();
            }
            return new GenerationResult(request.promptIds(), tokens, "x".repeat(tokens.size()), reason, 0, 0);
        }
    }

    @Test
    void refusesBeyondActiveSlotsAndQueue() {
        PacedGeneration paced = new PacedGeneration();
        try (LocalInference inference = new LocalInference(paced, 1, 1, Duration.ofSeconds(3))) {
            Disposable first = inference.submit(REQUEST).subscribe();
            Disposable second = inference.submit(REQUEST).subscribe();
            assertThatThrownBy(() -> inference.submit(REQUEST))
                    .isInstanceOf(OverloadedException.class)
                    .hasMessageContaining("1 generation slots").hasMessageContaining("1 requests are already waiting")
                    .satisfies(e -> assertThat(((OverloadedException) e).retryAfter()).isEqualTo(Duration.ofSeconds(3)));
            await(() -> inference.active() == 1);
            assertThat(inference.queued()).isEqualTo(1);
            first.dispose();
            second.dispose();
        }
    }

    @Test
    void cancellingStopsTheGenerationWithinOneTokenAndFreesTheSlot() throws InterruptedException {
        PacedGeneration paced = new PacedGeneration();
        try (LocalInference inference = new LocalInference(paced, 1, 0, Duration.ofSeconds(1))) {
            List<InferenceEvent> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
            Disposable subscription = inference.submit(REQUEST).subscribe(seen::add);
            paced.permits.release(3);
            await(() -> seen.stream().filter(e -> e instanceof InferenceEvent.Token).count() == 3);
            subscription.dispose();
            paced.permits.release(1);
            assertThat(paced.finished.await(5, TimeUnit.SECONDS)).isTrue();
            assertThat(paced.produced.get()).isLessThanOrEqualTo(4);
            await(() -> inference.active() == 0);
            // the slot is free again: a new request is admitted, not refused
            paced.permits.release(1000);
            StepVerifier.create(inference.submit(new GenerationRequest(new int[] {1}, 2, List.of(), SamplingParams.greedy())))
                    .expectNextMatches(e -> e instanceof InferenceEvent.Started)
                    .expectNextCount(2)
                    .expectNextMatches(e -> e instanceof InferenceEvent.Finished f && f.result().tokens().size() == 2)
                    .verifyComplete();
        }
    }

    /** A client that sends its next request the moment its stream ends must find its slot free. */
    @Test
    void theSlotIsFreeBeforeTheStreamCompletes() {
        LocalInference.Generation instant = (request, listener, cancelled) ->
                new GenerationResult(request.promptIds(), List.of(), "", FinishReason.MAX_TOKENS, 0, 0);
        try (LocalInference inference = new LocalInference(instant, 1, 0, Duration.ofSeconds(1))) {
            for (int i = 0; i < 500; i++) {
                StepVerifier.create(inference.submit(REQUEST)).expectNextCount(2).verifyComplete();
            }
        }
    }

    @Test
    void aQueuedRequestWhoseClientLeavesNeverRuns() {
        PacedGeneration paced = new PacedGeneration();
        try (LocalInference inference = new LocalInference(paced, 1, 1, Duration.ofSeconds(1))) {
            Disposable running = inference.submit(REQUEST).subscribe();
            await(() -> inference.active() == 1);
            Disposable queued = inference.submit(REQUEST).subscribe();
            assertThat(inference.queued()).isEqualTo(1);
            queued.dispose();
            assertThat(inference.queued()).isZero();
            running.dispose();
            paced.permits.release(1000);
            await(() -> inference.active() == 0);
            assertThat(paced.started.get()).isEqualTo(1);
        }
    }

    @Test
    void generationErrorsReachTheSubscriber() {
        LocalInference.Generation failing = (request, listener, cancelled) -> {
            throw new IllegalStateException("ONNX Runtime step failed");
        };
        try (LocalInference inference = new LocalInference(failing, 1, 0, Duration.ofSeconds(1))) {
            StepVerifier.create(inference.submit(REQUEST))
                    .expectNextMatches(e -> e instanceof InferenceEvent.Started)
                    .expectErrorMessage("ONNX Runtime step failed")
                    .verify(Duration.ofSeconds(5));
            await(() -> inference.active() == 0);
        }
    }

    /**
     * An Error, not only a RuntimeException, ends the stream: before, it escaped the worker and left
     * the client's stream open with nothing more to come (a silent stall, nothing logged), and the
     * next generation still ran on a fresh worker.
     */
    @Test
    void anErrorInTheGenerationEndsTheStreamAndTheSlotServesTheNext() {
        AtomicInteger calls = new AtomicInteger();
        LocalInference.Generation failingOnce = (request, listener, cancelled) -> {
            if (calls.incrementAndGet() == 1) {
                listener.onToken(new GeneratedToken(0, new TokenChoice(5, -0.1f, 0.5f, 1f), "x"));
                throw new AssertionError("an invariant of the sampler broke");
            }
            return new GenerationResult(request.promptIds(), List.of(), "", FinishReason.MAX_TOKENS, 0, 0);
        };
        try (LocalInference inference = new LocalInference(failingOnce, 1, 0, Duration.ofSeconds(1))) {
            StepVerifier.create(inference.submit(REQUEST))
                    .expectNextMatches(e -> e instanceof InferenceEvent.Started)
                    .expectNextMatches(e -> e instanceof InferenceEvent.Token)
                    .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(AssertionError.class)
                            .hasMessage("an invariant of the sampler broke"))
                    .verify(Duration.ofSeconds(10));
            await(() -> inference.active() == 0);
            StepVerifier.create(inference.submit(REQUEST))
                    .expectNextMatches(e -> e instanceof InferenceEvent.Started)
                    .expectNextMatches(e -> e instanceof InferenceEvent.Finished)
                    .verifyComplete();
        }
    }

    static void await(java.util.function.BooleanSupplier condition) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("condition not met within 10 s");
            }
            Thread.onSpinWait();
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }
}
