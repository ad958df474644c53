package io.tandem.edge.routing;

import static io.tandem.edge.routing.PolicyFixtures.busyDevice;
import static io.tandem.edge.routing.PolicyFixtures.healthyCloud;
import static io.tandem.edge.routing.PolicyFixtures.idleDevice;
import static io.tandem.edge.routing.PolicyFixtures.request;
import static io.tandem.edge.routing.PolicyFixtures.settings;
import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.edge.chat.TandemOptions.Route;
import io.tandem.edge.chat.TandemOptions.Sensitivity;
import io.tandem.edge.routing.Decision.Rule;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Each rule of the decision order, and that earlier rules win over later ones. */
class RoutingPolicyTest {

    private final RoutingPolicy policy = new RoutingPolicy(settings(false));
    private final RoutingPolicy escalating = new RoutingPolicy(settings(true));

    @Test
    void aDeviceWithRoomAnswersLocally() {
        Decision d = policy.decide(request(Route.AUTO, Sensitivity.PUBLIC), idleDevice(), healthyCloud(), 10, 0);
        assertThat(d.route()).isEqualTo(Route.LOCAL);
        assertThat(d.rule()).isEqualTo(Rule.LOCAL_CAPACITY);
        assertThat(d.reason()).contains("utilization 0.00 < 0.70");
        assertThat(d.rejected()).extracting(Decision.Rejected::route).contains(Route.SPLIT, Route.CLOUD, Route.ESCALATE);
        assertThat(d.estimates().requestCost()).isZero();
        assertThat(d.warnings()).isEmpty();
    }

    @Test
    void withEscalationOnADeviceWithRoomStartsLocallyAndMayEscalate() {
        Decision d = escalating.decide(request(Route.AUTO, Sensitivity.INTERNAL), idleDevice(), healthyCloud(), 10, 0);
        assertThat(d.route()).isEqualTo(Route.ESCALATE);
        assertThat(d.rule()).isEqualTo(Rule.LOCAL_FIRST_ESCALATE);
        assertThat(d.estimates().requestCost()).as("the worst case, all of it in the cloud, is reserved").isPositive();
    }

    @Test
    void escalationNeverTakesPersonalDataOffTheDevice() {
        Decision d = escalating.decide(request(Route.AUTO, Sensitivity.PERSONAL), idleDevice(), healthyCloud(), 10, 0);
        assertThat(d.route()).isEqualTo(Route.LOCAL);
        assertThat(d.rejected()).anySatisfy(r -> {
            assertThat(r.route()).isEqualTo(Route.ESCALATE);
            assertThat(r.reason()).contains("personal data may not go to region 'local'");
        });
    }

    @Test
    void aLoadedDeviceOffloadsToTheCheaperCloudRoute() {
        Decision d = policy.decide(request(Route.AUTO, Sensitivity.PUBLIC), busyDevice(), healthyCloud(), 10, 0);
        assertThat(d.route()).isIn(Route.SPLIT, Route.CLOUD);
        assertThat(d.rule()).isEqualTo(Rule.OFFLOAD_COST_LATENCY);
        assertThat(d.reason()).contains("the device is loaded (utilization 1.00 >= 0.70)");
        // with these prices CLOUD's whole-model step costs more accelerator time than SPLIT's
        // tail, but SPLIT sends 2 KB up per token: compare the two by the policy's own formula
        Decision.Estimates e = d.estimates();
        assertThat(d.rejected()).extracting(Decision.Rejected::route).contains(Route.LOCAL, Route.ESCALATE);
        assertThat(e.splitMsPerToken()).isPositive();
        assertThat(e.cloudMsPerToken()).isPositive();
    }

    @Test
    void theCostLatencyChoiceFollowsThePrices() {
        // accelerator time dear, egress free: SPLIT runs fewer layers in the cloud, so it wins
        PolicySettings dearAccelerator = withCost(new CostModel(100, 0, 1));
        Decision split = new RoutingPolicy(dearAccelerator).decide(request(Route.AUTO, Sensitivity.PUBLIC), busyDevice(),
                healthyCloud(), 1e9, 0);
        assertThat(split.route()).isEqualTo(Route.SPLIT);
        assertThat(split.splitLayer()).isEqualTo(2);
        assertThat(split.rejected()).anySatisfy(r -> assertThat(r.route()).isEqualTo(Route.CLOUD));
        // egress dear: SPLIT's activations cost far more than CLOUD's token ids
        PolicySettings dearEgress = withCost(new CostModel(0, 1000, 1));
        Decision cloud = new RoutingPolicy(dearEgress).decide(request(Route.AUTO, Sensitivity.PUBLIC), busyDevice(),
                healthyCloud(), 1e9, 0);
        assertThat(cloud.route()).isEqualTo(Route.CLOUD);
        assertThat(cloud.estimates().cloudCostPerToken()).isLessThan(cloud.estimates().splitCostPerToken());
    }

    @Test
    void aMissedLatencyObjectiveOffloadsEvenBelowTheUtilizationThreshold() {
        RequestFacts urgent = new RequestFacts(Route.AUTO, Sensitivity.PUBLIC, true, 1, 100, 50);
        Decision d = policy.decide(urgent, idleDevice(), healthyCloud(), 10, 0);
        assertThat(d.route()).isIn(Route.SPLIT, Route.CLOUD);
        assertThat(d.reason()).contains("local would miss the 1 ms objective");
    }

    @Test
    void aRequestBeyondTheLocalContextGoesToTheCloud() {
        RequestFacts longOne = new RequestFacts(Route.AUTO, Sensitivity.PUBLIC, true, null, 200, 100);
        Decision d = policy.decide(longOne, idleDevice(), healthyCloud(), 10, 0);
        assertThat(d.route()).isIn(Route.SPLIT, Route.CLOUD);
        assertThat(d.rule()).isEqualTo(Rule.LOCAL_INELIGIBLE);
    }

    @Test
    void personalAndRestrictedDataStayOnTheDeviceEvenWhenItIsLoaded() {
        for (Sensitivity s : new Sensitivity[] {Sensitivity.PERSONAL, Sensitivity.RESTRICTED}) {
            Decision d = policy.decide(request(Route.AUTO, s), busyDevice(), healthyCloud(), 10, 0);
            assertThat(d.route()).as(s.label()).isEqualTo(Route.LOCAL);
            assertThat(d.rule()).isEqualTo(Rule.DATA_RESIDENCY);
            assertThat(d.warnings()).as("the data rule is policy, not a degradation").isEmpty();
        }
    }

    @Test
    void anAllowedRegionLetsPersonalDataOffload() {
        PolicySettings s = settings(false);
        PolicySettings personalToLocal = new PolicySettings(0.7, 0.95, Map.of(Sensitivity.PERSONAL, Set.of("local")),
                false, s.escalation(), s.cost(), s.latencyWeight(), s.rttMs(), s.splitBytesPerToken(), s.cloudBytesPerToken());
        Decision d = new RoutingPolicy(personalToLocal).decide(request(Route.AUTO, Sensitivity.PERSONAL), busyDevice(),
                healthyCloud(), 10, 0);
        assertThat(d.route()).isIn(Route.SPLIT, Route.CLOUD);
    }

    @Test
    void withoutConsentNothingLeaves() {
        RequestFacts noConsent = new RequestFacts(Route.AUTO, Sensitivity.PUBLIC, false, null, 10, 50);
        Decision d = policy.decide(noConsent, busyDevice(), healthyCloud(), 10, 0);
        assertThat(d.route()).isEqualTo(Route.LOCAL);
        assertThat(d.rule()).isEqualTo(Rule.DATA_RESIDENCY);
        assertThat(d.reason()).contains("did not consent");
    }

    @Test
    void anOpenBreakerRoutesLocalWithAQualityWarning() {
        CloudState open = new CloudState(true, CloudState.Breaker.OPEN, true, "local", 0, 2, true, 2);
        Decision d = policy.decide(request(Route.AUTO, Sensitivity.PUBLIC), busyDevice(), open, 10, 0);
        assertThat(d.route()).isEqualTo(Route.LOCAL);
        assertThat(d.rule()).isEqualTo(Rule.CLOUD_UNAVAILABLE);
        assertThat(d.warnings()).singleElement().asString().contains("circuit breaker open").contains("answered on this device");
    }

    @Test
    void aFullBulkheadRoutesLocal() {
        CloudState full = new CloudState(true, CloudState.Breaker.CLOSED, false, "local", 0, 2, true, 2);
        Decision d = policy.decide(request(Route.AUTO, Sensitivity.PUBLIC), busyDevice(), full, 10, 0);
        assertThat(d.rule()).isEqualTo(Rule.CLOUD_UNAVAILABLE);
        assertThat(d.reason()).contains("bulkhead full");
    }

    @Test
    void aSpentBudgetRoutesLocal() {
        Decision spent = policy.decide(request(Route.AUTO, Sensitivity.PUBLIC), busyDevice(), healthyCloud(), 0, 0);
        assertThat(spent.route()).isEqualTo(Route.LOCAL);
        assertThat(spent.rule()).isEqualTo(Rule.BUDGET);
        assertThat(spent.warnings()).singleElement().asString().contains("budget is spent");
        Decision tooDear = policy.decide(request(Route.AUTO, Sensitivity.PUBLIC), busyDevice(), healthyCloud(), 1e-9, 0);
        assertThat(tooDear.rule()).isEqualTo(Rule.BUDGET);
        assertThat(tooDear.reason()).contains("exceeds the remaining budget");
    }

    @Test
    void dataRulesComeBeforeAvailabilityAndBudget() {
        CloudState open = new CloudState(true, CloudState.Breaker.OPEN, true, "local", 0, 2, true, 2);
        Decision d = policy.decide(request(Route.AUTO, Sensitivity.RESTRICTED), busyDevice(), open, 0, 0);
        assertThat(d.rule()).isEqualTo(Rule.DATA_RESIDENCY);
    }

    @Test
    void loadComesBeforeDataRules() {
        // a device with room answers a personal request locally because it has room, not because of the data rule
        Decision d = policy.decide(request(Route.AUTO, Sensitivity.PERSONAL), idleDevice(), healthyCloud(), 10, 0);
        assertThat(d.rule()).isEqualTo(Rule.LOCAL_CAPACITY);
    }

    @Test
    void explicitRoutesAreHonouredUnlessForbidden() {
        Decision split = policy.decide(request(Route.SPLIT, Sensitivity.PUBLIC), idleDevice(), healthyCloud(), 10, 0);
        assertThat(split.route()).isEqualTo(Route.SPLIT);
        assertThat(split.rule()).isEqualTo(Rule.REQUESTED);
        assertThat(split.splitLayer()).isEqualTo(2);
        Decision personal = policy.decide(request(Route.CLOUD, Sensitivity.PERSONAL), idleDevice(), healthyCloud(), 10, 0);
        assertThat(personal.route()).isEqualTo(Route.LOCAL);
        assertThat(personal.rule()).isEqualTo(Rule.DATA_RESIDENCY);
        assertThat(personal.warnings()).singleElement().asString().startsWith("route cloud was requested but personal data");
        CloudState open = new CloudState(true, CloudState.Breaker.OPEN, true, "local", 0, 2, true, 2);
        Decision broken = policy.decide(request(Route.CLOUD, Sensitivity.PUBLIC), idleDevice(), open, 10, 0);
        assertThat(broken.route()).isEqualTo(Route.LOCAL);
        assertThat(broken.rule()).isEqualTo(Rule.CLOUD_UNAVAILABLE);
    }

    @Test
    void pressureRaisesTheBarForOffloading() {
        DeviceState loaded = new DeviceState(0.8, 0, 5, 256, 5, 5, 1);
        assertThat(policy.decide(request(Route.AUTO, Sensitivity.PUBLIC), loaded, healthyCloud(), 10, 0).route())
                .isIn(Route.SPLIT, Route.CLOUD);
        Decision pressed = policy.decide(request(Route.AUTO, Sensitivity.PUBLIC), loaded, healthyCloud(), 10, 1);
        assertThat(pressed.route()).isEqualTo(Route.LOCAL);
        assertThat(pressed.thresholds().utilization()).isEqualTo(0.95);
        assertThat(pressed.thresholds().escalateMeanLogprob()).isEqualTo(-3.5);
        assertThat(policy.thresholds(0.5).utilization()).isCloseTo(0.825, org.assertj.core.data.Offset.offset(1e-12));
    }

    @Test
    void aCloudQueueMakesCloudRoutesSlower() {
        CloudState queued = new CloudState(true, CloudState.Breaker.CLOSED, true, "local", 10, 2, true, 2);
        Decision.Estimates idle = policy.estimates(request(Route.AUTO, Sensitivity.PUBLIC), busyDevice(), healthyCloud(), Route.CLOUD);
        Decision.Estimates busy = policy.estimates(request(Route.AUTO, Sensitivity.PUBLIC), busyDevice(), queued, Route.CLOUD);
        assertThat(busy.cloudMsPerToken()).isEqualTo(idle.cloudMsPerToken() + 20);
    }

    private static PolicySettings withCost(CostModel cost) {
        PolicySettings s = settings(false);
        return new PolicySettings(s.utilizationThreshold(), s.maxUtilizationThreshold(), s.allowedRegions(), false,
                s.escalation(), cost, s.latencyWeight(), s.rttMs(), s.splitBytesPerToken(), s.cloudBytesPerToken());
    }
}
