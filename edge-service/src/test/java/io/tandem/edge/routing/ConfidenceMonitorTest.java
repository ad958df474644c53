package io.tandem.edge.routing;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.model.sampling.TokenChoice;
import org.junit.jupiter.api.Test;

class ConfidenceMonitorTest {

    private static TokenChoice token(float logprob) {
        return new TokenChoice(1, logprob, 1f, 1f);
    }

    @Test
    void theMeanCountsOnlyOnceTheWindowIsFullAndThenSlides() {
        ConfidenceMonitor monitor = new ConfidenceMonitor(4, -1.0, Double.NaN, Double.NaN);
        assertThat(monitor.dropped(token(-3))).as("1 of 4").isFalse();
        assertThat(monitor.dropped(token(-0.1f))).isFalse();
        assertThat(monitor.dropped(token(-0.1f))).isFalse();
        // mean of -3, -0.1, -0.1, -0.1 = -0.825 >= -1
        assertThat(monitor.dropped(token(-0.1f))).isFalse();
        // window slides: -0.1, -0.1, -0.1, -4 = -1.075 < -1
        assertThat(monitor.dropped(token(-4))).isTrue();
        assertThat(monitor.reason()).contains("mean logprob -1.075 over the last 4 tokens < -1.000");
    }

    @Test
    void marginAndEntropyTestsAreOptional() {
        ConfidenceMonitor off = new ConfidenceMonitor(1, -100, Double.NaN, Double.NaN);
        assertThat(off.dropped(new TokenChoice(1, -0.5f, 9f, 0.01f))).isFalse();
        ConfidenceMonitor margin = new ConfidenceMonitor(1, -100, 0.1, Double.NaN);
        assertThat(margin.dropped(new TokenChoice(1, -0.5f, 9f, 0.05f))).isTrue();
        assertThat(margin.reason()).startsWith("margin 0.050 < 0.100");
        ConfidenceMonitor entropy = new ConfidenceMonitor(1, -100, Double.NaN, 3.0);
        assertThat(entropy.dropped(new TokenChoice(1, -0.5f, 2f, 0.05f))).isFalse();
        assertThat(entropy.dropped(new TokenChoice(1, -0.5f, 3.5f, 0.05f))).isTrue();
        // a remote token's entropy and margin are unknown (NaN): never a reason to escalate
        assertThat(entropy.dropped(new TokenChoice(1, -0.5f, Float.NaN, Float.NaN))).isFalse();
    }

    @Test
    void aForcedTokenCountsAsNoConfidence() {
        ConfidenceMonitor monitor = new ConfidenceMonitor(2, -10, Double.NaN, Double.NaN);
        monitor.dropped(token(-0.1f));
        assertThat(monitor.dropped(token(Float.NEGATIVE_INFINITY))).isTrue();
    }
}
