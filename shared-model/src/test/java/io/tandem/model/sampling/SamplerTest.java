package io.tandem.model.sampling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import java.nio.FloatBuffer;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class SamplerTest {

    static final float[] LOGITS = {1.0f, 3.0f, 2.0f, 3.0f, -1.0f};

    static FloatBuffer logits() {
        return FloatBuffer.wrap(LOGITS);
    }

    @Test
    void greedyTakesTheFirstOfEqualMaxima() {
        TokenChoice choice = new Sampler(SamplingParams.greedy(), 5).sample(logits());
        assertThat(choice.token()).isEqualTo(1);
        assertThat(choice.margin()).isEqualTo(0f);
    }

    @Test
    void confidenceIsMeasuredOnTheUntemperedDistribution() {
        double z = 0;
        for (float l : LOGITS) {
            z += Math.exp(l);
        }
        double entropy = 0;
        for (float l : LOGITS) {
            double p = Math.exp(l) / z;
            entropy -= p * Math.log(p);
        }
        SamplingParams hot = new SamplingParams(2.0f, 1f, 0, OptionalLong.of(1));
        for (SamplingParams params : new SamplingParams[] {SamplingParams.greedy(), hot}) {
            TokenChoice choice = new Sampler(params, 5).sample(logits());
            assertThat((double) choice.logprob()).isCloseTo(LOGITS[choice.token()] - Math.log(z), offset(1e-5));
            assertThat((double) choice.entropy()).isCloseTo(entropy, offset(1e-5));
        }
    }

    @Test
    void seededSamplingIsReproducibleAndFollowsTheTemperedDistribution() {
        SamplingParams params = new SamplingParams(1.0f, 1f, 0, OptionalLong.of(42));
        Sampler a = new Sampler(params, 5);
        Sampler b = new Sampler(params, 5);
        int[] counts = new int[5];
        int draws = 20_000;
        for (int i = 0; i < draws; i++) {
            int t = a.sample(logits()).token();
            assertThat(b.sample(logits()).token()).isEqualTo(t);
            counts[t]++;
        }
        double z = 0;
        for (float l : LOGITS) {
            z += Math.exp(l);
        }
        for (int t = 0; t < 5; t++) {
            assertThat(counts[t] / (double) draws).isCloseTo(Math.exp(LOGITS[t]) / z, offset(0.015));
        }
    }

    @Test
    void topKAndTopPRestrictTheCandidates() {
        Sampler topK2 = new Sampler(new SamplingParams(5.0f, 1f, 2, OptionalLong.of(3)), 5);
        Sampler topP = new Sampler(new SamplingParams(1.0f, 0.5f, 0, OptionalLong.of(3)), 5);
        Sampler topK1 = new Sampler(new SamplingParams(5.0f, 1f, 1, OptionalLong.of(3)), 5);
        for (int i = 0; i < 2000; i++) {
            assertThat(topK2.sample(logits()).token()).isIn(1, 3);
            // tokens 1 and 3 each hold ~42% of the mass: the nucleus of 0.5 is those two
            assertThat(topP.sample(logits()).token()).isIn(1, 3);
            assertThat(topK1.sample(logits()).token()).isIn(1, 3);
        }
    }

    @Test
    void invalidParametersAreRejectedWithTheirName() {
        assertThatThrownBy(() -> new SamplingParams(-1f, 1f, 0, OptionalLong.empty())).hasMessageContaining("temperature");
        assertThatThrownBy(() -> new SamplingParams(1f, 0f, 0, OptionalLong.empty())).hasMessageContaining("top_p");
        assertThatThrownBy(() -> new SamplingParams(1f, 1.5f, 0, OptionalLong.empty())).hasMessageContaining("top_p");
        assertThatThrownBy(() -> new SamplingParams(1f, 1f, -2, OptionalLong.empty())).hasMessageContaining("top_k");
        assertThatThrownBy(() -> new Sampler(SamplingParams.greedy(), 5).sample(FloatBuffer.wrap(new float[3])))
                .hasMessageContaining("expected 5 logits");
    }
}
