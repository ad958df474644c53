package io.tandem.edge.audit;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.edge.SimulatedClock;
import io.tandem.edge.budget.BudgetLimiter;
import io.tandem.edge.chat.TandemOptions.Route;
import io.tandem.edge.chat.TandemOptions.Sensitivity;
import io.tandem.edge.routing.CloudState;
import io.tandem.edge.routing.CostModel;
import io.tandem.edge.routing.DeviceState;
import io.tandem.edge.routing.OffloadController;
import io.tandem.edge.routing.PolicySettings;
import io.tandem.edge.routing.RequestFacts;
import io.tandem.edge.routing.RouteOutcome;
import io.tandem.edge.routing.RoutingPolicy;
import io.tandem.edge.routing.RoutingService;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Audit lines, as the log writes them, validate against the schema in docs/; broken ones do not. */
class AuditRecordSchemaTest {

    private static RoutingService service(double cap, CloudState cloud) {
        PolicySettings settings = new PolicySettings(0.7, 0.95, Map.of(Sensitivity.PUBLIC, Set.of("local")), true,
                new PolicySettings.Escalation(8, -2.5, Double.NaN, Double.NaN, 1), new CostModel(0.001, 0.0001, 1.5),
                1e-6, 2, 2096, 40);
        SimulatedClock clock = new SimulatedClock();
        return new RoutingService(new RoutingPolicy(settings), new BudgetLimiter(clock, cap, Double.POSITIVE_INFINITY),
                new OffloadController(clock, 32, 2, 50, 3, 10), () -> cloud, () -> 1.0, clock);
    }

    private static AuditRecord record(RoutingService service, Route route, Sensitivity sensitivity, DeviceState device) {
        RoutingService.Routed routed = service.route(new RequestFacts(route, sensitivity, true, 500, 12, 40), device, null);
        RouteOutcome outcome = new RouteOutcome(routed.decision().warnings());
        outcome.escalated(3, "mean logprob -3.000 over the last 8 tokens < -2.500");
        outcome.cloudStep(0.0001);
        outcome.fellBack(9, "the cloud closed the link");
        outcome.warn("the cloud route stopped after 9 tokens");
        return RoutingAudit.record("chatcmpl-" + "0123456789abcdef".repeat(2), "kiosk-7", Instant.parse("2026-11-23T12:00:00Z"),
                routed, outcome, "ok", 20, new AuditRecord.Model("stories260K", "sha256:abc123"),
                new AuditRecord.Model(null, "sha256:abc123"), service.budget(), 12.5, 80.25);
    }

    @Test
    void everyKindOfDecisionWritesAValidLine(@TempDir Path dir) throws Exception {
        CloudState healthy = new CloudState(true, CloudState.Breaker.CLOSED, true, "local", 2, 3.5, true, 2);
        CloudState open = new CloudState(true, CloudState.Breaker.OPEN, true, "local", 0, 2, false, 2);
        DeviceState idle = new DeviceState(0, 0, 2, 256, 5, 5, 1);
        DeviceState busy = new DeviceState(1, 4, 2, 256, 5, 5, 1);
        List<AuditRecord> records = List.of(
                record(service(Double.POSITIVE_INFINITY, healthy), Route.AUTO, Sensitivity.PUBLIC, idle),
                record(service(Double.POSITIVE_INFINITY, healthy), Route.AUTO, Sensitivity.PUBLIC, busy),
                record(service(Double.POSITIVE_INFINITY, healthy), Route.AUTO, Sensitivity.RESTRICTED, busy),
                record(service(Double.POSITIVE_INFINITY, open), Route.CLOUD, Sensitivity.PUBLIC, idle),
                record(service(0, healthy), Route.SPLIT, Sensitivity.INTERNAL, busy),
                record(service(Double.POSITIVE_INFINITY, CloudState.none()), Route.AUTO, Sensitivity.PUBLIC, idle));
        Path file = dir.resolve("audit/audit.jsonl");
        try (AuditLog log = new AuditLog(file, "kiosk-7")) {
            records.forEach(log::append);
        }
        List<String> lines = Files.readAllLines(file);
        assertThat(lines).hasSize(records.size());
        for (String line : lines) {
            assertThat(AuditSchema.errors(line)).as(line).isEmpty();
            assertThat(line).as("the audit line names the device").contains("\"device\":\"kiosk-7\"");
        }
        assertThat(lines).extracting(l -> l.replaceAll(".*\"route\":\"([a-z]+)\",\"rule\".*", "$1"))
                .containsExactly("escalate", "split", "local", "local", "local", "local");
    }

    @Test
    void theSchemaRefusesTextAndMissingFields() {
        CloudState healthy = new CloudState(true, CloudState.Breaker.CLOSED, true, "local", 0, 2, true, 2);
        String line = AuditLog.line(record(service(1, healthy), Route.AUTO, Sensitivity.PUBLIC,
                new DeviceState(0, 0, 2, 256, 5, 5, 1)));
        assertThat(AuditSchema.errors(line)).isEmpty();
        assertThat(AuditSchema.errors(line.replace("{\"schema_version\":1,", "{\"schema_version\":1,\"prompt\":\"my card number\",")))
                .as("no field may carry the prompt").isNotEmpty();
        assertThat(AuditSchema.errors(line.replace("\"rule\":\"LOCAL_FIRST_ESCALATE\",", "")))
                .as("the rule is required").isNotEmpty();
        assertThat(AuditSchema.errors(line.replace("\"route\":\"escalate\"", "\"route\":\"auto\""))).isNotEmpty();
    }
}
