package io.tandem.edge.routing;

import io.tandem.edge.chat.TandemOptions.Route;
import io.tandem.edge.chat.TandemOptions.Sensitivity;
import java.util.Map;
import java.util.Set;

/** The demo policy and typical inputs, for the policy's tests. */
final class PolicyFixtures {

    static final CostModel COST = new CostModel(0.001, 0.0001, 1.5);

    private PolicyFixtures() {}

    static PolicySettings settings(boolean escalate) {
        return new PolicySettings(0.7, 0.95, Map.of(Sensitivity.PUBLIC, Set.of("local"), Sensitivity.INTERNAL,
                Set.of("local")), escalate, new PolicySettings.Escalation(8, -2.5, Double.NaN, Double.NaN, 1.0),
                COST, 1e-6, 2, 2048 + 48, 40);
    }

    static RequestFacts request(Route route, Sensitivity sensitivity) {
        return new RequestFacts(route, sensitivity, true, null, 10, 50);
    }

    static DeviceState idleDevice() {
        return new DeviceState(0.0, 0, 2, 256, 5, 5, 1);
    }

    static DeviceState busyDevice() {
        return new DeviceState(1.0, 3, 2, 256, 5, 5, 1);
    }

    static CloudState healthyCloud() {
        return new CloudState(true, CloudState.Breaker.CLOSED, true, "local", 0, 2, true, 2);
    }
}
