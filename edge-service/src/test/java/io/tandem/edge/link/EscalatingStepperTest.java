package io.tandem.edge.link;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.edge.routing.ConfidenceMonitor;
import io.tandem.edge.routing.RouteOutcome;
import io.tandem.model.generate.TokenStepper;
import io.tandem.model.sampling.TokenChoice;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Test;

/** Local first, then the cloud from the first unsure token on, having re-read everything so far. */
class EscalatingStepperTest {

    /** A stepper that answers a fixed script of (token, logprob) and records what it was fed. */
    static final class Scripted implements TokenStepper {
        final List<long[]> fed = new ArrayList<>();
        final int[] tokens;
        final float[] logprobs;
        int step;
        boolean closed;
        RuntimeException failAt;
        int failStep = -1;

        Scripted(int[] tokens, float[] logprobs) {
            this.tokens = tokens;
            this.logprobs = logprobs;
        }

        @Override
        public TokenChoice next(long[] in) {
            if (step == failStep) {
                throw failAt;
            }
            fed.add(in.clone());
            TokenChoice c = new TokenChoice(tokens[step], logprobs[step], Float.NaN, Float.NaN);
            step++;
            return c;
        }

        @Override
        public int length() {
            return fed.stream().mapToInt(a -> a.length).sum();
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    @Test
    void theUnsureTokenIsChosenByTheCloudAfterItReReadsTheHistory() {
        Scripted local = new Scripted(new int[] {10, 11, 12, 13}, new float[] {-0.1f, -0.2f, -5f, -0.1f});
        Scripted cloud = new Scripted(new int[] {20, 21, 22}, new float[] {-0.1f, -0.1f, -0.1f});
        RouteOutcome outcome = new RouteOutcome(List.of());
        List<Integer> offsets = new ArrayList<>();
        IntFunction<TokenStepper> toCloud = produced -> {
            offsets.add(produced);
            return cloud;
        };
        EscalatingStepper stepper = new EscalatingStepper(local, new ConfidenceMonitor(1, -1, Double.NaN, Double.NaN),
                toCloud, outcome);
        List<Integer> answer = new ArrayList<>();
        answer.add(stepper.next(new long[] {1, 5, 6}).token()); // prompt
        answer.add(stepper.next(new long[] {answer.get(0)}).token());
        answer.add(stepper.next(new long[] {answer.get(1)}).token()); // local says 12 at -5: escalate
        answer.add(stepper.next(new long[] {answer.get(2)}).token());
        stepper.close();

        assertThat(answer).containsExactly(10, 11, 20, 21);
        assertThat(outcome.escalatedAtToken()).isEqualTo(2);
        assertThat(outcome.escalationReason()).contains("< -1.000");
        assertThat(offsets).containsExactly(2);
        assertThat(local.closed).isTrue();
        assertThat(cloud.closed).isTrue();
        // the cloud first reads the prompt and both local tokens in one go, then one token at a time
        assertThat(cloud.fed.get(0)).containsExactly(1, 5, 6, 10, 11);
        assertThat(cloud.fed.get(1)).containsExactly(20);
        assertThat(stepper.length()).isEqualTo(6);
    }

    @Test
    void aConfidentAnswerNeverTouchesTheCloud() {
        Scripted local = new Scripted(new int[] {10, 11, 12}, new float[] {-0.1f, -0.2f, -0.3f});
        EscalatingStepper stepper = new EscalatingStepper(local, new ConfidenceMonitor(2, -1, Double.NaN, Double.NaN),
                produced -> {
                    throw new AssertionError("escalated");
                }, new RouteOutcome(List.of()));
        stepper.next(new long[] {1});
        stepper.next(new long[] {10});
        stepper.next(new long[] {11});
        assertThat(stepper.escalated()).isFalse();
    }

    @Test
    void aCloudThatFailsAfterEscalationHandsBackToTheDevice() {
        Scripted local = new Scripted(new int[] {10, 11}, new float[] {-5f, -0.1f});
        Scripted cloud = new Scripted(new int[] {20, 21}, new float[] {-0.1f, -0.1f});
        cloud.failStep = 1;
        cloud.failAt = new LinkException("the cloud closed the link");
        Scripted rescue = new Scripted(new int[] {30, 31}, new float[] {-0.1f, -0.1f});
        RouteOutcome outcome = new RouteOutcome(List.of());
        EscalatingStepper stepper = new EscalatingStepper(local, new ConfidenceMonitor(1, -1, Double.NaN, Double.NaN),
                produced -> new FallbackStepper(cloud, answer -> rescue, outcome, produced), outcome);
        int first = stepper.next(new long[] {1, 2}).token();
        int second = stepper.next(new long[] {first}).token();
        assertThat(Arrays.asList(first, second)).containsExactly(20, 30);
        assertThat(outcome.escalatedAtToken()).isZero();
        assertThat(outcome.fellBackAtToken()).isEqualTo(1);
        assertThat(outcome.warnings()).singleElement().asString().contains("stopped after 1 tokens");
        assertThat(rescue.fed.get(0)).containsExactly(1, 2, 20);
    }
}
