package io.tandem.edge.chat;

import io.tandem.edge.error.ApiProblem;
import io.tandem.edge.inference.EdgeMetrics;
import io.tandem.edge.inference.InferenceEvent;
import io.tandem.edge.inference.LocalInference;
import io.tandem.edge.inference.ServedModel;
import io.tandem.edge.audit.AuditLog;
import io.tandem.edge.audit.AuditRecord;
import io.tandem.edge.audit.RoutingAudit;
import io.tandem.edge.inference.LocalModelConfiguration;
import io.tandem.edge.link.CloudRoutes;
import io.tandem.edge.routing.ConfidenceMonitor;
import io.tandem.edge.routing.CostModel;
import io.tandem.edge.routing.Decision;
import io.tandem.edge.routing.DeviceState;
import io.tandem.edge.routing.LocalSpeed;
import io.tandem.edge.routing.PolicySettings;
import io.tandem.edge.routing.RequestFacts;
import io.tandem.edge.routing.RouteOutcome;
import io.tandem.edge.routing.RoutingService;
import io.tandem.model.wire.Mode;
import org.springframework.beans.factory.ObjectProvider;
import io.tandem.model.generate.FinishReason;
import io.tandem.model.generate.GenerationRequest;
import io.tandem.model.generate.GenerationResult;
import io.tandem.model.sampling.SamplingParams;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.http.codec.ServerSentEvent;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import tools.jackson.databind.json.JsonMapper;

/** OpenAI-compatible completions: chat and plain text, whole or streamed as server-sent events. */
@RestController
public class CompletionController {

    public static final String ROUTE_HEADER = "X-Tandem-Route";
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(CompletionController.class);

    private final LocalInference inference;
    private final ServedModel model;
    private final EdgeMetrics metrics;
    private final RequestParser parser;
    private final JsonMapper json;
    private final CloudRoutes cloud;
    private final RoutingService routing;
    private final LocalSpeed speed;
    private final AuditLog audit;
    private final String localModelHash;

    public CompletionController(LocalInference inference, ServedModel model, EdgeMetrics metrics, JsonMapper json,
                                ObjectProvider<CloudRoutes> cloud, RoutingService routing, LocalSpeed speed,
                                AuditLog audit, LocalModelConfiguration.WarmModel warm) {
        this.inference = inference;
        this.cloud = cloud.getIfAvailable();
        this.model = model;
        this.metrics = metrics;
        this.json = json;
        this.parser = new RequestParser(json);
        this.routing = routing;
        this.speed = speed;
        this.audit = audit;
        this.localModelHash = warm.partitions().modelHash();
    }

    @GetMapping("/v1/models")
    Map<String, Object> models() {
        Map<String, Object> entry = new LinkedHashMap<>();
        entry.put("id", model.id());
        entry.put("object", "model");
        entry.put("created", 0);
        entry.put("owned_by", "tandem");
        return Map.of("object", "list", "data", List.of(entry));
    }

    @PostMapping("/v1/chat/completions")
    Mono<ResponseEntity<?>> chat(@RequestBody(required = false) String body) {
        return complete(() -> parser.parseChat(body));
    }

    @PostMapping("/v1/completions")
    Mono<ResponseEntity<?>> completion(@RequestBody(required = false) String body) {
        return complete(() -> parser.parseCompletion(body));
    }

    private Mono<ResponseEntity<?>> complete(java.util.function.Supplier<CompletionRequest> parse) {
        Instant arrived = Instant.now();
        CompletionRequest request;
        RoutingService.Routed routed = null;
        RouteOutcome outcome;
        GenerationRequest generation;
        Flux<InferenceEvent> events;
        try {
            request = parse.get();
            if (request.model() != null && !request.model().equals(model.id())) {
                throw new ApiProblem(ApiProblem.Kind.UNKNOWN_MODEL, "model",
                        "model '" + request.model() + "' is not served here; GET /v1/models lists '" + model.id() + "'");
            }
            generation = generationRequest(request);
            routed = route(request.tandem(), generation);
            outcome = new RouteOutcome(routed.decision().warnings());
            events = submit(routed, generation, outcome);
        } catch (ApiProblem e) {
            release(routed);
            metrics.request(TandemOptions.Route.LOCAL.label(), e.kind() == ApiProblem.Kind.OVERLOADED ? "rejected" : "invalid");
            return Mono.error(e);
        } catch (io.tandem.edge.inference.OverloadedException e) {
            release(routed);
            metrics.request(routed == null ? TandemOptions.Route.LOCAL.label() : routed.decision().route().label(), "rejected");
            return Mono.error(e);
        }
        Exchange exchange = new Exchange(request, routed, outcome, arrived);
        TandemOptions.Route route = routed.decision().route();
        if (request.stream()) {
            Flux<ServerSentEvent<String>> sse = stream(exchange, events);
            return Mono.just(ResponseEntity.ok().header(ROUTE_HEADER, route.label())
                    .contentType(MediaType.TEXT_EVENT_STREAM).body(sse));
        }
        return events.doOnNext(exchange::observe)
                .doOnCancel(() -> exchange.finish("cancelled"))
                .doOnError(e -> exchange.finish("error"))
                .filter(e -> e instanceof InferenceEvent.Finished)
                .cast(InferenceEvent.Finished.class)
                // before next(), which cancels upstream as it takes the item: that cancel is no client leaving
                .doOnNext(finished -> exchange.finish("ok"))
                .next()
                .map(finished -> {
                    Map<String, Object> body = request.chat()
                            ? chatCompletion(exchange, finished.result())
                            : textCompletion(exchange, finished.result());
                    return ResponseEntity.ok().header(ROUTE_HEADER, route.label())
                            .contentType(MediaType.APPLICATION_JSON).body(body);
                });
    }

    /**
     * Asks the routing policy. A cloud route on an edge without a link is refused openly, and a
     * split point outside the model is a bad request; everything else the policy decides.
     */
    private RoutingService.Routed route(TandemOptions options, GenerationRequest generation) {
        TandemOptions.Route requested = options.route();
        int layers = model.config().layers();
        boolean needsCloud = requested == TandemOptions.Route.SPLIT || requested == TandemOptions.Route.CLOUD
                || requested == TandemOptions.Route.ESCALATE;
        if (needsCloud && cloud == null) {
            throw new ApiProblem(ApiProblem.Kind.ROUTE_UNAVAILABLE, "tandem.route",
                    "route " + requested.label() + " is not available: this edge has no cloud link configured");
        }
        Integer k = options.splitLayer();
        int effective = k != null ? k : cloud != null ? cloud.defaultSplitLayer() : 1;
        if ((k != null || requested == TandemOptions.Route.SPLIT) && (effective < 1 || effective > layers - 1)) {
            throw ApiProblem.invalid("tandem.split_layer", "split layer " + effective + " is outside 1.." + (layers - 1)
                    + ": the model has " + layers + " layers and each side needs at least one");
        }
        RequestFacts facts = new RequestFacts(requested, options.sensitivity(), options.offloadConsent(),
                options.latencySloMs(), generation.promptIds().length, generation.maxTokens());
        DeviceState device = new DeviceState(inference.utilization(), inference.queued(), inference.maxActive(),
                model.contextLength(), layers, speed.msPerToken(), speed.msPerPromptToken());
        return routing.route(facts, device, k);
    }

    private Flux<InferenceEvent> submit(RoutingService.Routed routed, GenerationRequest generation, RouteOutcome outcome) {
        Decision decision = routed.decision();
        CostModel cost = routing.policy().settings().cost();
        return switch (decision.route()) {
            case LOCAL, AUTO -> inference.submit(generation);
            case SPLIT -> cloud.submit(generation, cloud.generation(Mode.split(decision.splitLayer()), outcome,
                    routed.reservation(), cost));
            case CLOUD -> cloud.submit(generation, cloud.generation(Mode.FULL, outcome, routed.reservation(), cost));
            case ESCALATE -> {
                PolicySettings.Escalation e = routing.policy().settings().escalation();
                ConfidenceMonitor monitor = new ConfidenceMonitor(e.window(),
                        decision.thresholds().escalateMeanLogprob(), e.minMargin(), e.maxEntropy());
                yield inference.submit(generation, cloud.escalation(monitor, outcome, routed.reservation(), cost));
            }
        };
    }

    private static void release(RoutingService.Routed routed) {
        if (routed != null && routed.reservation() != null) {
            routed.reservation().close();
        }
    }

    private GenerationRequest generationRequest(CompletionRequest request) {
        int[] ids;
        if (request.chat()) {
            String rendered;
            try {
                rendered = model.renderChat(request.messages());
            } catch (io.tandem.model.chat.ChatTemplateException e) {
                // the model's own template refused the conversation (raise_exception), e.g. roles out of order
                throw ApiProblem.invalid("messages", "the model's chat template refused these messages: " + e.getMessage());
            }
            ids = model.encodeChatPrompt(rendered);
        } else {
            ids = model.encodePrompt(request.prompt());
        }
        int context = model.contextLength();
        if (ids.length >= context) {
            throw new ApiProblem(ApiProblem.Kind.CONTEXT_EXCEEDED, request.chat() ? "messages" : "prompt",
                    "the prompt is " + ids.length + " tokens long; the model's context holds " + context
                            + ", leaving no room to generate");
        }
        if (request.maxTokens() != null && request.maxTokens() > context) {
            throw new ApiProblem(ApiProblem.Kind.CONTEXT_EXCEEDED, "max_tokens",
                    "max_tokens " + request.maxTokens() + " is beyond the model's context of " + context + " tokens");
        }
        int maxTokens = request.maxTokens() != null ? request.maxTokens() : context - ids.length;
        SamplingParams sampling = new SamplingParams(
                request.temperature() == null ? 1f : request.temperature(),
                request.topP() == null ? 1f : request.topP(), 0,
                request.seed() == null ? OptionalLong.empty() : OptionalLong.of(request.seed()));
        return new GenerationRequest(ids, maxTokens, request.stop(), sampling);
    }

    private Flux<ServerSentEvent<String>> stream(Exchange exchange, Flux<InferenceEvent> events) {
        boolean chat = exchange.request.chat();
        Flux<ServerSentEvent<String>> opening = chat
                ? Flux.just(sse(chunk(exchange, Map.of("role", "assistant", "content", ""), null, null)))
                : Flux.empty();
        // flatMapIterable, not concatMap: concatMap (no prefetch since Reactor 3.5) hands a scalar inner
        // such as Flux.just to a subscription whose request() is not safe against a request from
        // another thread (here Netty's event loop) while the generation thread emits: a chunk can be
        // sent twice and the next one dropped (reactor-core issue 4406). flatMapIterable serializes
        // items and demand through one drain loop. (This did not cure the rare stalled stream of
        // issue 13: see docs/BENCHMARKS.md, "Stream stall soak".)
        Flux<ServerSentEvent<String>> body = events.doOnNext(exchange::observe)
                .flatMapIterable(event -> switch (event) {
                    case InferenceEvent.Started started -> List.<ServerSentEvent<String>>of();
                    case InferenceEvent.Token token -> token.token().text().isEmpty()
                            ? List.<ServerSentEvent<String>>of()
                            : List.of(sse(textChunk(exchange, token.token().text())));
                    case InferenceEvent.TrailingText trailing -> List.of(sse(textChunk(exchange, trailing.text())));
                    case InferenceEvent.Finished finished -> {
                        exchange.finish("ok");
                        ServerSentEvent<String> last = sse(chunk(exchange, chat ? Map.of() : null,
                                finishReason(finished.result()), tandem(exchange)));
                        if (!exchange.request.includeUsage()) {
                            yield List.of(last);
                        }
                        Map<String, Object> usage = chunkEnvelope(exchange);
                        usage.put("choices", List.of());
                        usage.put("usage", usage(finished.result()));
                        yield List.of(last, sse(usage));
                    }
                })
                .doOnCancel(() -> exchange.finish("cancelled"))
                .doOnError(e -> exchange.finish("error"))
                .onErrorResume(e -> Flux.just(sse(Map.of("error", Map.of("message", String.valueOf(e.getMessage()),
                        "type", "internal-error")))));
        return opening.concatWith(body).concatWith(Flux.just(ServerSentEvent.<String>builder().data("[DONE]").build()));
    }

    private Map<String, Object> textChunk(Exchange exchange, String text) {
        return exchange.request.chat() ? chunk(exchange, Map.of("content", text), null, null) : chunk(exchange, text, null, null);
    }

    /** A streamed chunk: for chat, {@code delta} is the message delta; for text, the text itself. */
    private Map<String, Object> chunk(Exchange exchange, Object delta, String finishReason, Map<String, Object> tandem) {
        Map<String, Object> choice = new LinkedHashMap<>();
        choice.put("index", 0);
        if (exchange.request.chat()) {
            choice.put("delta", delta);
            choice.put("logprobs", null);
        } else {
            choice.put("text", delta == null ? "" : delta);
            choice.put("logprobs", null);
        }
        choice.put("finish_reason", finishReason);
        Map<String, Object> chunk = chunkEnvelope(exchange);
        chunk.put("choices", List.of(choice));
        if (tandem != null) {
            chunk.put("tandem", tandem);
        }
        return chunk;
    }

    private Map<String, Object> chunkEnvelope(Exchange exchange) {
        Map<String, Object> chunk = new LinkedHashMap<>();
        chunk.put("id", exchange.id);
        chunk.put("object", exchange.request.chat() ? "chat.completion.chunk" : "text_completion");
        chunk.put("created", exchange.arrived.getEpochSecond());
        chunk.put("model", model.id());
        return chunk;
    }

    private Map<String, Object> chatCompletion(Exchange exchange, GenerationResult result) {
        Map<String, Object> message = new LinkedHashMap<>();
        message.put("role", "assistant");
        message.put("content", result.text());
        Map<String, Object> choice = new LinkedHashMap<>();
        choice.put("index", 0);
        choice.put("message", message);
        choice.put("logprobs", null);
        choice.put("finish_reason", finishReason(result));
        return completion(exchange, "chat.completion", choice, result);
    }

    private Map<String, Object> textCompletion(Exchange exchange, GenerationResult result) {
        Map<String, Object> choice = new LinkedHashMap<>();
        choice.put("index", 0);
        choice.put("text", result.text());
        choice.put("logprobs", null);
        choice.put("finish_reason", finishReason(result));
        return completion(exchange, "text_completion", choice, result);
    }

    private Map<String, Object> completion(Exchange exchange, String object, Map<String, Object> choice, GenerationResult result) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("id", exchange.id);
        body.put("object", object);
        body.put("created", exchange.arrived.getEpochSecond());
        body.put("model", model.id());
        body.put("choices", List.of(choice));
        body.put("usage", usage(result));
        body.put("tandem", tandem(exchange));
        return body;
    }

    private static Map<String, Object> usage(GenerationResult result) {
        Map<String, Object> usage = new LinkedHashMap<>();
        usage.put("prompt_tokens", result.promptIds().length);
        usage.put("completion_tokens", result.tokens().size());
        usage.put("total_tokens", result.promptIds().length + result.tokens().size());
        return usage;
    }

    private static Map<String, Object> tandem(Exchange exchange) {
        Map<String, Object> tandem = new LinkedHashMap<>();
        Decision decision = exchange.routed.decision();
        tandem.put("route", decision.route().label());
        tandem.put("reason", decision.reason());
        tandem.put("warnings", exchange.outcome.warnings());
        if (exchange.firstTokenNanos > 0) {
            tandem.put("ttft_ms", Math.round((exchange.firstTokenNanos - exchange.startedNanos) / 1e6 * 10) / 10.0);
        }
        if (exchange.record != null) {
            tandem.put("trace", AuditLog.tree(exchange.record));
        }
        return tandem;
    }

    /** OpenAI's two finish reasons: the model or a stop string ended it, or a length limit did. */
    static String finishReason(GenerationResult result) {
        FinishReason reason = result.finishReason();
        return switch (reason) {
            case END_OF_SEQUENCE, STOP_STRING, CANCELLED -> "stop";
            case MAX_TOKENS, CONTEXT_FULL -> "length";
        };
    }

    private ServerSentEvent<String> sse(Object data) {
        return ServerSentEvent.<String>builder().data(json.writeValueAsString(data)).build();
    }

    /** One request in flight: its identity, route, timings, and the metrics and audit line it reports once. */
    private final class Exchange {
        final String id = "chatcmpl-" + UUID.randomUUID().toString().replace("-", "");
        final CompletionRequest request;
        final RoutingService.Routed routed;
        final RouteOutcome outcome;
        final Instant arrived;
        final long startedNanos = System.nanoTime();
        final String routeLabel;
        long firstTokenNanos;
        private final AtomicLong lastTokenNanos = new AtomicLong();
        private int completionTokens;
        private boolean finished;
        private AuditRecord record;

        Exchange(CompletionRequest request, RoutingService.Routed routed, RouteOutcome outcome, Instant arrived) {
            this.request = request;
            this.routed = routed;
            this.outcome = outcome;
            this.arrived = arrived;
            this.routeLabel = routed.decision().route().label();
        }

        void observe(InferenceEvent event) {
            if (event instanceof InferenceEvent.Token) {
                long now = System.nanoTime();
                completionTokens++;
                metrics.tokenGenerated(routeLabel);
                if (firstTokenNanos == 0) {
                    firstTokenNanos = now;
                    metrics.timeToFirstToken(routeLabel, Duration.ofNanos(now - startedNanos));
                } else {
                    metrics.interTokenLatency(routeLabel, Duration.ofNanos(now - lastTokenNanos.get()));
                }
                lastTokenNanos.set(now);
            } else if (event instanceof InferenceEvent.Finished f) {
                GenerationResult result = f.result();
                if (result.tokens().size() > 1) {
                    metrics.tokensPerSecond(routeLabel, result.decodeTokensPerSecond());
                }
                if (routed.decision().route() == TandemOptions.Route.LOCAL) {
                    speed.observe(result.promptIds().length, result.prefillNanos(), result.tokens().size() - 1,
                            result.decodeNanos());
                }
            }
        }

        synchronized void finish(String status) {
            if (finished) {
                return;
            }
            finished = true;
            release(routed);
            metrics.request(routeLabel, status);
            metrics.routed(routed.decision(), outcome);
            try {
                record = RoutingAudit.record(id, audit.device(), arrived, routed, outcome, status, completionTokens,
                        new AuditRecord.Model(model.id(), localModelHash),
                        cloud == null ? null : new AuditRecord.Model(null, cloud.cloudModelHash()),
                        routing.budget(), firstTokenNanos == 0 ? null : (firstTokenNanos - startedNanos) / 1e6,
                        (System.nanoTime() - startedNanos) / 1e6);
                audit.append(record);
            } catch (RuntimeException e) {
                // the answer is already computed: a full disk must not cost the user their answer
                log.error("could not write the audit record of {}: {}", id, e.getMessage(), e);
            }
        }
    }
}
