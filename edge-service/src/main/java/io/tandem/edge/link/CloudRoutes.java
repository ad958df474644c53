package io.tandem.edge.link;

import io.tandem.edge.budget.BudgetLimiter;
import io.tandem.edge.inference.LocalInference;
import io.tandem.edge.routing.ConfidenceMonitor;
import io.tandem.edge.routing.CostModel;
import io.tandem.edge.routing.RouteOutcome;
import io.tandem.model.engine.Engine;
import io.tandem.model.engine.Partitions;
import io.tandem.model.generate.GenerationRequest;
import io.tandem.model.generate.TokenStepper;
import io.tandem.model.runtime.KvSequence;
import io.tandem.model.wire.Frame;
import io.tandem.model.wire.Mode;

/**
 * The split, cloud and escalate routes: generations whose tokens the cloud chooses (for all or
 * part of the answer), with the same loop, text and limits as a local one, guarded by the
 * breaker, charged to the budget, and with the local model standing by to finish if the cloud
 * route fails.
 */
public final class CloudRoutes implements AutoCloseable {

    private final CloudLink link;
    private final CloudGuard guard;
    private final LinkProperties properties;
    private final Engine engine;
    private final Partitions partitions;
    private final LocalInference runner;

    /**
     * @param runner the threads cloud answers run on: apart from the local model's slots, so that
     *               waiting on the cloud never takes a slot the device could compute in
     */
    public CloudRoutes(CloudLink link, CloudGuard guard, LinkProperties properties, Engine engine, Partitions partitions,
                       LocalInference runner) {
        this.link = link;
        this.guard = guard;
        this.properties = properties;
        this.engine = engine;
        this.partitions = partitions;
        this.runner = runner;
    }

    /** Runs a SPLIT or CLOUD generation on the cloud routes' own threads. */
    public reactor.core.publisher.Flux<io.tandem.edge.inference.InferenceEvent> submit(GenerationRequest request,
                                                                                    LocalInference.Generation generation) {
        return runner.submit(request, generation);
    }

    public CloudLink link() {
        return link;
    }

    public CloudGuard guard() {
        return guard;
    }

    public LinkProperties properties() {
        return properties;
    }

    public int defaultSplitLayer() {
        return properties.splitLayer();
    }

    /** The model the cloud route asks for: the configured one, else the same weights as the local model. */
    public String cloudModelHash() {
        return properties.cloudModel() == null || properties.cloudModel().isBlank()
                ? partitions.modelHash() : properties.cloudModel();
    }

    /** Bytes one SPLIT decode step sends up: one position of activations in the configured codec, plus framing. */
    public long splitBytesPerToken() {
        return properties.activationCodec().dtype().rawBytes(1, partitions.config().dim()) + 48;
    }

    /** Bytes one CLOUD decode step sends up: one token id, plus framing. */
    public static long cloudBytesPerToken() {
        return 40;
    }

    /**
     * Runs a generation through the cloud in {@code mode}, charging each step to {@code budget}
     * (null: not metered); what happens goes to {@code outcome}.
     */
    public LocalInference.Generation generation(Mode mode, RouteOutcome outcome, BudgetLimiter.Reservation budget,
                                                CostModel cost) {
        return (request, listener, cancelled) -> {
            try (TokenStepper stepper = cloudStepper(mode, request, outcome, budget, cost, 0)) {
                return engine.generate(stepper, request, listener, cancelled);
            }
        };
    }

    /** Local first; when {@code monitor} says confidence dropped, the cloud decodes the rest. */
    public LocalInference.Generation escalation(ConfidenceMonitor monitor, RouteOutcome outcome,
                                                BudgetLimiter.Reservation budget, CostModel cost) {
        return (request, listener, cancelled) -> {
            try (TokenStepper stepper = new EscalatingStepper(engine.newStepper(request, new int[0]), monitor,
                    produced -> cloudStepper(Mode.FULL, request, outcome, budget, cost, produced), outcome)) {
                return engine.generate(stepper, request, listener, cancelled);
            }
        };
    }

    private TokenStepper cloudStepper(Mode mode, GenerationRequest request, RouteOutcome outcome,
                                      BudgetLimiter.Reservation budget, CostModel cost, int produced) {
        Frame.Open open = new Frame.Open(mode instanceof Mode.Split ? partitions.modelHash() : cloudModelHash(),
                mode, request.sampling(), Math.max(1, request.maxTokens() - produced));
        KvSequence head = mode instanceof Mode.Split split
                ? partitions.range(0, split.firstCloudLayer()).session().newSequence()
                : null;
        RemoteStepper.StepCharge charge = (computeMicros, bytesUp) -> {
            double stepCost = cost.stepCost(Math.max(0, computeMicros), bytesUp);
            if (budget != null && !budget.charge(stepCost)) {
                return false;
            }
            outcome.cloudStep(stepCost);
            return true;
        };
        // beyond temperature, top-p and seed: the cloud applies the same rules and constraint, after the answer so far
        Frame.Decoding decoding = request.rules().isNone() && request.constraint() == null ? null
                : new Frame.Decoding(request.rules(), java.util.Optional.ofNullable(request.constraint()), new int[0]);
        TokenStepper remote = new RemoteStepper(link, guard, charge, open, decoding, produced, head,
                properties.activationCodec(), partitions.config().dim());
        return new FallbackStepper(remote, answer -> engine.newStepper(request, answer), outcome, produced);
    }

    /** Stops the cloud routes' threads; the link itself belongs to its own bean. */
    @Override
    public void close() {
        runner.close();
    }
}
