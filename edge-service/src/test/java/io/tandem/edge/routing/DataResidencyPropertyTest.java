package io.tandem.edge.routing;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.edge.chat.TandemOptions.Route;
import io.tandem.edge.chat.TandemOptions.Sensitivity;
import java.util.EnumMap;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Over 10,000 random requests, devices, clouds, budgets, pressures and region rules: no request
 * leaves the device for a region its class does not allow, and none leaves without consent.
 */
class DataResidencyPropertyTest {

    private static final String[] REGIONS = {"local", "eu-west", "us-east", "ap-south"};

    @Test
    void noRequestIsRoutedToARegionNotAllowedForIt() {
        Random random = new Random(20261123);
        int offloaded = 0;
        int sensitiveOffloaded = 0;
        for (int i = 0; i < 10_000; i++) {
            Map<Sensitivity, Set<String>> allowed = new EnumMap<>(Sensitivity.class);
            for (Sensitivity s : Sensitivity.values()) {
                allowed.put(s, randomRegions(random));
            }
            PolicySettings base = PolicyFixtures.settings(random.nextBoolean());
            PolicySettings settings = new PolicySettings(0.1 + random.nextDouble() * 0.5, 0.95, allowed, base.escalate(),
                    base.escalation(), base.cost(), random.nextDouble() * 1e-3, random.nextDouble() * 20,
                    base.splitBytesPerToken(), base.cloudBytesPerToken());
            Route requested = Route.values()[random.nextInt(Route.values().length)];
            Sensitivity sensitivity = Sensitivity.values()[random.nextInt(Sensitivity.values().length)];
            boolean consent = random.nextInt(10) > 0;
            RequestFacts request = new RequestFacts(requested, sensitivity, consent,
                    random.nextBoolean() ? null : 1 + random.nextInt(2000), 1 + random.nextInt(300), 1 + random.nextInt(300));
            DeviceState device = new DeviceState(random.nextDouble() * 1.2, random.nextInt(10), 1 + random.nextInt(4),
                    64 + random.nextInt(512), 2 + random.nextInt(30), 0.1 + random.nextDouble() * 50, 0.1 + random.nextDouble() * 5);
            String region = REGIONS[random.nextInt(REGIONS.length)];
            CloudState cloud = new CloudState(random.nextInt(8) > 0,
                    CloudState.Breaker.values()[random.nextInt(3)], random.nextInt(5) > 0, region, random.nextInt(50),
                    0.1 + random.nextDouble() * 100, random.nextBoolean(), 1 + random.nextInt(device.layers() - 1));
            double budget = random.nextInt(5) == 0 ? 0 : random.nextDouble() * 10;
            Decision d = new RoutingPolicy(settings).decide(request, device, cloud, budget, random.nextDouble());
            if (d.offloads()) {
                offloaded++;
                assertThat(consent).as("case %d: offloaded without consent", i).isTrue();
                assertThat(allowed.get(sensitivity)).as("case %d: %s data routed %s to region %s", i, sensitivity,
                        d.route(), region).contains(region);
                assertThat(cloud.breaker()).as("case %d", i).isNotEqualTo(CloudState.Breaker.OPEN);
                assertThat(cloud.configured()).isTrue();
                if (sensitivity == Sensitivity.PERSONAL || sensitivity == Sensitivity.RESTRICTED) {
                    sensitiveOffloaded++;
                }
            }
        }
        // the property is not vacuous: plenty of requests did offload, sensitive ones included where allowed
        assertThat(offloaded).isGreaterThan(500);
        assertThat(sensitiveOffloaded).isGreaterThan(50);
    }

    private static Set<String> randomRegions(Random random) {
        Set<String> out = new java.util.HashSet<>();
        for (String r : REGIONS) {
            if (random.nextInt(3) == 0) {
                out.add(r);
            }
        }
        return out;
    }
}
