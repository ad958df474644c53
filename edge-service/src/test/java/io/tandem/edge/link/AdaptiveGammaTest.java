package io.tandem.edge.link;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** gamma against the expected run length 1 / (1 - alpha) it follows, and the configured bounds. */
class AdaptiveGammaTest {

    @Test
    void gammaFollowsTheRunningAcceptanceRateWithinItsBounds() {
        AdaptiveGamma gamma = new AdaptiveGamma(4, 1, 8);
        assertThat(gamma.current()).isEqualTo(4);
        assertThat(gamma.acceptance()).isEqualTo(0.8);
        for (int i = 0; i < 30; i++) {
            gamma.observe(gamma.current(), gamma.current()); // everything accepted
        }
        assertThat(gamma.current()).isEqualTo(8);
        for (int i = 0; i < 30; i++) {
            gamma.observe(gamma.current(), 0); // nothing accepted
        }
        assertThat(gamma.current()).isEqualTo(1);
        // a steady 5 of 6: alpha -> 0.833, run 1 / (1 - alpha) = 6
        for (int i = 0; i < 60; i++) {
            gamma.observe(6, 5);
        }
        assertThat(gamma.acceptance()).isCloseTo(5 / 6.0, org.assertj.core.data.Offset.offset(1e-6));
        assertThat(gamma.current()).isEqualTo(6);
        // one bad round moves it by the weight of one round, not all the way
        gamma.observe(6, 0);
        assertThat(gamma.acceptance()).isCloseTo(0.7 * 5 / 6.0, org.assertj.core.data.Offset.offset(1e-6));
        assertThat(gamma.current()).isEqualTo(2);
    }

    @Test
    void badBoundsAndObservationsAreRefused() {
        assertThatThrownBy(() -> new AdaptiveGamma(4, 5, 8)).hasMessageContaining("1 <= min <= initial <= max");
        AdaptiveGamma gamma = new AdaptiveGamma(2, 1, 3);
        assertThatThrownBy(() -> gamma.observe(2, 3)).hasMessage("3 accepted of 2 drafted");
    }

    @Test
    void deliveryPropertiesNameTheFaultyProperty() {
        DeliveryProperties defaults = DeliveryProperties.defaults();
        assertThat(defaults.cloudDelivery()).isEqualTo(DeliveryProperties.CloudDelivery.STREAM);
        assertThat(defaults.splitDelivery()).isEqualTo(DeliveryProperties.SplitDelivery.SPECULATIVE);
        assertThat(defaults.draftKind()).isEqualTo(DeliveryProperties.DraftKind.INT4);
        assertThat(new DeliveryProperties(null, null, "early-exit", null, 0, 0, 0, 0).draftKind())
                .isEqualTo(DeliveryProperties.DraftKind.EARLY_EXIT);
        assertThatThrownBy(() -> new DeliveryProperties("fast", null, null, null, 0, 0, 0, 0))
                .hasMessage("tandem.delivery.cloud must be one of stream, lockstep, draft, was 'fast'");
        assertThatThrownBy(() -> new DeliveryProperties(null, null, "model", null, 0, 0, 0, 0))
                .hasMessageContaining("tandem.delivery.draft=model needs tandem.delivery.draft-model");
        assertThatThrownBy(() -> new DeliveryProperties(null, null, null, null, 0, 9, 0, 8))
                .hasMessageContaining("min-gamma <= gamma <= max-gamma");
        assertThatThrownBy(() -> new DeliveryProperties(null, null, null, null, -1, 0, 0, 0))
                .hasMessageContaining("credit-window must be >= 1");
    }
}
