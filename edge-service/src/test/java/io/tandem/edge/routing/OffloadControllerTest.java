package io.tandem.edge.routing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.tandem.edge.SimulatedClock;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The adaptive bar on a simulated clock: it follows its signals smoothly, within bounds. */
class OffloadControllerTest {

    private final SimulatedClock clock = new SimulatedClock();
    /** queue of 32 or a step 50 ms over the 2 ms baseline or 3x the price: full pressure; 10 s time constant */
    private final OffloadController controller = new OffloadController(clock, 32, 2, 50, 3, 10);

    @Test
    void targetsAreEachSignalNormalisedAndTheLargestWins() {
        assertThat(controller.target(0, 2, 1)).isZero();
        assertThat(controller.target(16, 2, 1)).isEqualTo(0.5);
        assertThat(controller.target(0, 27, 1)).isEqualTo(0.5);
        assertThat(controller.target(0, 2, 2)).isEqualTo(0.5);
        assertThat(controller.target(8, 40, 1.5)).isCloseTo(0.76, within(1e-12));
        assertThat(controller.target(1000, 1e6, 100)).as("bounded above").isEqualTo(1);
        assertThat(controller.target(0, 0.1, 0.2)).as("bounded below: a fast, cheap cloud is not negative pressure").isZero();
        assertThat(controller.target(0, Double.NaN, Double.NaN)).as("unknown signals are no signal").isZero();
    }

    @Test
    void pressureRisesAsAFirstOrderLagAndFallsBack() {
        controller.update(0, 2, 1);
        for (int s = 1; s <= 10; s++) {
            clock.advance(Duration.ofSeconds(1));
            controller.update(32, 2, 1); // a full queue: target 1
        }
        // after one time constant a first-order lag covers 1 - 1/e of the step
        assertThat(controller.pressure()).isCloseTo(1 - Math.exp(-1), within(1e-9));
        for (int s = 1; s <= 60; s++) {
            clock.advance(Duration.ofSeconds(1));
            controller.update(32, 2, 1);
        }
        assertThat(controller.pressure()).isLessThanOrEqualTo(1).isGreaterThan(0.999);
        double high = controller.pressure();
        clock.advance(Duration.ofSeconds(10));
        controller.update(0, 2, 1); // the queue drained
        assertThat(controller.pressure()).isCloseTo(high * Math.exp(-1), within(1e-9));
    }

    @Test
    void theResultDoesNotDependOnHowOftenItIsUpdated() {
        OffloadController often = new OffloadController(clock, 32, 2, 50, 3, 10);
        SimulatedClock other = new SimulatedClock();
        OffloadController rarely = new OffloadController(other, 32, 2, 50, 3, 10);
        often.update(0, 2, 1);
        rarely.update(0, 2, 1);
        for (int i = 0; i < 100; i++) {
            clock.advance(Duration.ofMillis(100));
            often.update(0, 27, 1);
        }
        other.advance(Duration.ofSeconds(10));
        rarely.update(0, 27, 1);
        assertThat(often.pressure()).isCloseTo(rarely.pressure(), within(1e-9));
    }

    @Test
    void noTimePassingMeansNoJump() {
        controller.update(0, 2, 1);
        assertThat(controller.update(1000, 1000, 100)).as("a spike at the same instant moves nothing").isZero();
        clock.advance(Duration.ofMillis(100));
        assertThat(controller.update(1000, 1000, 100)).isCloseTo(1 - Math.exp(-0.01), within(1e-9));
    }

    @Test
    void aRisingPriceRaisesTheBar() {
        controller.update(0, 2, 1);
        clock.advance(Duration.ofMinutes(5));
        double p = controller.update(0, 2, 2);
        assertThat(p).isCloseTo(0.5, within(1e-6));
        RoutingPolicy policy = new RoutingPolicy(PolicyFixtures.settings(false));
        assertThat(policy.thresholds(p).utilization()).isCloseTo(0.825, within(1e-6));
    }
}
