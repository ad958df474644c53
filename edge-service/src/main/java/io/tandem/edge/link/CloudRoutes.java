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
import io.tandem.model.engine.EngineOptions;
import io.tandem.model.engine.LoadedModel;
import io.tandem.model.generate.LocalPipeline;
import io.tandem.model.onnx.WeightPrecision;
import io.tandem.model.sampling.Sampler;
import io.tandem.model.sampling.SamplingParams;
import io.tandem.model.wire.Delivery;
import io.tandem.model.wire.Frame;
import io.tandem.model.wire.Mode;
import java.util.List;

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
    private final DeliveryProperties delivery;
    private Partitions int4Draft;
    private Partitions separateDraft;

    /**
     * @param runner the threads cloud answers run on: apart from the local model's slots, so that
     *               waiting on the cloud never takes a slot the device could compute in
     */
    public CloudRoutes(CloudLink link, CloudGuard guard, LinkProperties properties, Engine engine, Partitions partitions,
                       LocalInference runner) {
        this(link, guard, properties, DeliveryProperties.defaults(), engine, partitions, runner);
    }

    public CloudRoutes(CloudLink link, CloudGuard guard, LinkProperties properties, DeliveryProperties delivery,
                       Engine engine, Partitions partitions, LocalInference runner) {
        this.delivery = delivery;
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
        // beyond temperature, top-p and seed: the cloud applies the same rules and constraint, after the answer so far
        Frame.Decoding decoding = request.rules().isNone() && request.constraint() == null ? null
                : new Frame.Decoding(request.rules(), java.util.Optional.ofNullable(request.constraint()), new int[0]);
        Delivery how = deliveryFor(mode);
        if (decoding != null && how == Delivery.VERIFY) {
            // the speculative rule verifies against plain sampling; a shaped answer (penalties, bias, a
            // constraint) is chosen token by token: streamed in the cloud route, in lockstep when split
            how = mode instanceof Mode.Split ? Delivery.LOCKSTEP : Delivery.STREAM;
        }
        int maxTokens = Math.max(1, request.maxTokens() - produced);
        int[] endTokens = partitions.model().endTokens().stream().mapToInt(Integer::intValue).sorted().toArray();
        Frame.Open open = new Frame.Open(mode instanceof Mode.Split ? partitions.modelHash() : cloudModelHash(),
                mode, request.sampling(), maxTokens, how, how == Delivery.STREAM ? delivery.creditWindow() : 0,
                how == Delivery.LOCKSTEP ? new int[0] : endTokens);
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
        RemoteStepper remote = new RemoteStepper(link, guard, charge, open, decoding, produced, head,
                properties.activationCodec(), partitions.config().dim(), outcome::dropped);
        TokenStepper stepper = remote;
        if (how == Delivery.VERIFY) {
            PipelineDraft draft = newDraft(mode, request);
            outcome.delivery("speculative", draft.kind());
            stepper = new SpeculativeStepper(remote, draft, new AdaptiveGamma(delivery.gamma(), delivery.minGamma(),
                    delivery.maxGamma()), outcome, maxTokens, partitions.config().contextLength());
        } else {
            outcome.delivery(how == Delivery.STREAM ? "stream" : "lockstep", null);
        }
        return new FallbackStepper(stepper, answer -> engine.newStepper(request, answer), outcome, produced);
    }

    /** The delivery a route uses, from {@code tandem.delivery.*}. */
    public Delivery deliveryFor(Mode mode) {
        return switch (mode) {
            case Mode.Split split -> delivery.splitDelivery() == DeliveryProperties.SplitDelivery.SPECULATIVE
                    ? Delivery.VERIFY : Delivery.LOCKSTEP;
            case Mode.Full full -> switch (delivery.cloudDelivery()) {
                case STREAM -> Delivery.STREAM;
                case LOCKSTEP -> Delivery.LOCKSTEP;
                case DRAFT -> Delivery.VERIFY;
            };
        };
    }

    /**
     * The draft for a speculative route. SPLIT: the configured kind over the same weights (the int4
     * copy, or an early exit at the split layer) or the separate model. The cloud route with a
     * draft: the local model itself, or the separate model when one is configured.
     */
    private PipelineDraft newDraft(Mode mode, GenerationRequest request) {
        SamplingParams params = request.sampling();
        // the draft draws with its own random source: the cloud's verifier uses the request's seed
        SamplingParams draftParams = new SamplingParams(params.temperature(), params.topP(), params.topK(),
                params.seed().isPresent() ? java.util.OptionalLong.of(params.seed().getAsLong() ^ 0x5DEECE66DL)
                        : java.util.OptionalLong.empty());
        int vocab = partitions.config().vocabSize();
        Sampler sampler = new Sampler(draftParams, vocab);
        DeliveryProperties.DraftKind kind = delivery.draftKind();
        if (kind == DeliveryProperties.DraftKind.MODEL) {
            Partitions model = separateDraft();
            return new PipelineDraft("model", new LocalPipeline(List.of(model.range(0, model.config().layers()).session())),
                    sampler, vocab);
        }
        return switch (mode) {
            case Mode.Full full -> new PipelineDraft("local", engine.newPipeline(), sampler, vocab);
            case Mode.Split split -> switch (kind) {
                case INT4 -> {
                    Partitions int4 = int4Draft();
                    yield new PipelineDraft("int4", new LocalPipeline(List.of(int4.range(0, int4.config().layers()).session())),
                            sampler, vocab);
                }
                case EARLY_EXIT -> new PipelineDraft("early-exit", new LocalPipeline(List.of(
                        partitions.exitRange(split.firstCloudLayer()).session())), sampler, vocab);
                case MODEL -> throw new IllegalStateException("handled above");
            };
        };
    }

    private synchronized Partitions int4Draft() {
        if (int4Draft == null) {
            EngineOptions own = partitions.options();
            int4Draft = new Partitions(partitions.model(), new EngineOptions(WeightPrecision.INT4, own.flavour(), 0,
                    own.runtime()), partitions.store());
        }
        return int4Draft;
    }

    private synchronized Partitions separateDraft() {
        if (separateDraft == null) {
            LoadedModel model;
            try {
                model = LoadedModel.load(delivery.draftModel(), null);
            } catch (java.io.IOException e) {
                throw new IllegalStateException("tandem.delivery.draft-model " + delivery.draftModel()
                        + " cannot be read: " + e.getMessage(), e);
            }
            if (model.weights().config().vocabSize() != partitions.config().vocabSize()) {
                throw new IllegalStateException("tandem.delivery.draft-model " + delivery.draftModel() + " has a vocabulary of "
                        + model.weights().config().vocabSize() + " tokens; the served model has "
                        + partitions.config().vocabSize());
            }
            separateDraft = new Partitions(model, partitions.options(), partitions.store());
        }
        return separateDraft;
    }

    /** Stops the cloud routes' threads; the link itself belongs to its own bean. */
    @Override
    public void close() {
        runner.close();
        synchronized (this) {
            if (int4Draft != null) {
                int4Draft.close();
            }
            if (separateDraft != null) {
                separateDraft.close();
            }
        }
    }
}
