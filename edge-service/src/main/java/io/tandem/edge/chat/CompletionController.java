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
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.http.codec.ServerSentEvent;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RestController;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import tools.jackson.databind.json.JsonMapper;

/** OpenAI-compatible completions: chat and plain text, whole or streamed as server-sent events. */
@RestController
public class CompletionController {

    public static final String ROUTE_HEADER = "X-Tandem-Route";
    /** Asks for the full routing trace in the answer, as {@code "tandem": {"trace": true}} does. */
    public static final String TRACE_HEADER = "X-Tandem-Trace";
    /** The route label of requests refused before any route was chosen. */
    static final String NO_ROUTE = "none";
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
    /** The vocabulary as bytes for constrained decoding, built on first use. */
    private volatile io.tandem.model.constrain.ConstrainedVocabulary vocabulary;

    public CompletionController(LocalInference inference, ServedModel model, EdgeMetrics metrics, JsonMapper json,
                                ObjectProvider<CloudRoutes> cloud, RoutingService routing, LocalSpeed speed,
                                AuditLog audit, LocalModelConfiguration.WarmModel warm) {
        this.inference = inference;
        this.cloud = cloud.getIfAvailable();
        this.model = model;
        this.metrics = metrics;
        this.json = json;
        this.parser = new RequestParser(json, model.config().vocabSize(), model.chatTemplate().rendersTools() ? null
                : "the model " + model.id() + " cannot call tools: its chat template renders no tools");
        this.routing = routing;
        this.speed = speed;
        this.audit = audit;
        this.localModelHash = warm.partitions().modelHash();
    }

    @GetMapping("/v1/models")
    Map<String, Object> models() {
        return Map.of("object", "list", "data", List.of(modelEntry()));
    }

    @GetMapping("/v1/models/{id}")
    Map<String, Object> model(@org.springframework.web.bind.annotation.PathVariable String id) {
        if (!id.equals(model.id())) {
            throw new ApiProblem(ApiProblem.Kind.UNKNOWN_MODEL, "model",
                    "model '" + id + "' is not served here; GET /v1/models lists '" + model.id() + "'");
        }
        return modelEntry();
    }

    /** OpenAI's model object, with what a client such as the kiosk needs to know about the model. */
    private Map<String, Object> modelEntry() {
        Map<String, Object> entry = new LinkedHashMap<>();
        entry.put("id", model.id());
        entry.put("object", "model");
        entry.put("created", 0);
        entry.put("owned_by", "tandem");
        boolean ownTemplate = model.tokenizer().chatTemplateSource().isPresent();
        entry.put("tandem", Map.of("context_length", model.contextLength(),
                "chat_template", ownTemplate ? "model" : "plain",
                // a model without a chat template continues the last message's text rather than answering it
                "continues_text", !ownTemplate));
        return entry;
    }

    @PostMapping("/v1/chat/completions")
    Mono<ResponseEntity<?>> chat(@RequestBody(required = false) byte[] body,
                                 @RequestHeader(value = HttpHeaders.CONTENT_TYPE, required = false) String contentType,
                                 @RequestHeader(value = TRACE_HEADER, required = false) String trace) {
        return complete(() -> parser.parseChat(RequestBodies.jsonText(body, contentType)), wantsTrace(trace));
    }

    @PostMapping("/v1/completions")
    Mono<ResponseEntity<?>> completion(@RequestBody(required = false) byte[] body,
                                       @RequestHeader(value = HttpHeaders.CONTENT_TYPE, required = false) String contentType,
                                       @RequestHeader(value = TRACE_HEADER, required = false) String trace) {
        return complete(() -> parser.parseCompletion(RequestBodies.jsonText(body, contentType)), wantsTrace(trace));
    }

    private static boolean wantsTrace(String header) {
        if (header == null || header.isBlank() || header.equalsIgnoreCase("false") || header.equals("0")) {
            return false;
        }
        if (header.equalsIgnoreCase("true") || header.equals("1")) {
            return true;
        }
        throw ApiProblem.invalid(TRACE_HEADER, TRACE_HEADER + " must be true or false, was '" + header + "'");
    }

    private Mono<ResponseEntity<?>> complete(java.util.function.Supplier<CompletionRequest> parse, boolean traceHeader) {
        Instant arrived = Instant.now();
        CompletionRequest request;
        RoutingService.Routed routed = null;
        RouteOutcome outcome;
        Prepared prepared;
        List<Flux<InferenceEvent>> choices = new java.util.ArrayList<>();
        try {
            request = parse.get();
            if (request.model() != null && !request.model().equals(model.id())) {
                throw new ApiProblem(ApiProblem.Kind.UNKNOWN_MODEL, "model",
                        "model '" + request.model() + "' is not served here; GET /v1/models lists '" + model.id() + "'");
            }
            prepared = prepare(request);
            routed = route(request, prepared.generation());
            outcome = new RouteOutcome(routed.decision().warnings());
            for (int i = 0; i < request.n(); i++) {
                choices.add(submit(routed, prepared.choice(i), outcome));
            }
        } catch (ApiProblem e) {
            cancelAll(choices);
            release(routed);
            metrics.request(routed == null ? NO_ROUTE : routed.decision().route().label(),
                    e.kind() == ApiProblem.Kind.OVERLOADED ? "rejected" : "invalid");
            return Mono.error(e);
        } catch (io.tandem.edge.inference.OverloadedException e) {
            cancelAll(choices);
            release(routed);
            metrics.request(routed == null ? NO_ROUTE : routed.decision().route().label(), "rejected");
            return Mono.error(e);
        }
        Exchange exchange = new Exchange(request, routed, outcome, arrived, traceHeader || request.tandem().trace());
        exchange.trimmedMessages = prepared.trimmedMessages();
        List<Flux<Indexed>> indexed = indexed(choices);
        // one choice (the common case) goes straight through: a merge would only add a queue between
        Flux<Indexed> events = indexed.size() == 1 ? indexed.getFirst() : Flux.merge(indexed);
        TandemOptions.Route route = routed.decision().route();
        if (request.stream()) {
            Flux<ServerSentEvent<String>> sse = stream(exchange, events);
            return Mono.just(ResponseEntity.ok().header(ROUTE_HEADER, route.label())
                    .contentType(MediaType.TEXT_EVENT_STREAM).body(sse));
        }
        return events.doOnNext(e -> exchange.observe(e.event()))
                .doOnCancel(() -> exchange.finish("cancelled"))
                .doOnError(e -> exchange.finish("error"))
                .filter(e -> e.event() instanceof InferenceEvent.Finished)
                // collect, not next(): next() cancels the stream as the result arrives, before it completes
                .collectList()
                .map(finished -> {
                    exchange.finish("ok");
                    GenerationResult[] results = new GenerationResult[request.n()];
                    for (Indexed f : finished) {
                        results[f.index()] = ((InferenceEvent.Finished) f.event()).result();
                    }
                    Map<String, Object> body = completion(exchange, List.of(results));
                    return ResponseEntity.ok().header(ROUTE_HEADER, answered(exchange.routed.decision(), exchange.outcome).route().label())
                            .contentType(MediaType.APPLICATION_JSON).body(body);
                });
    }

    /** One event of choice number {@code index}. */
    record Indexed(int index, InferenceEvent event) {
    }

    private static List<Flux<Indexed>> indexed(List<Flux<InferenceEvent>> choices) {
        List<Flux<Indexed>> out = new java.util.ArrayList<>();
        for (int i = 0; i < choices.size(); i++) {
            int index = i;
            out.add(choices.get(i).map(e -> new Indexed(index, e)));
        }
        return out;
    }

    /** Choices admitted before a later one was refused: their generations stop. */
    private static void cancelAll(List<Flux<InferenceEvent>> choices) {
        choices.forEach(f -> f.subscribe().dispose());
    }

    /**
     * Asks the routing policy. A cloud route on an edge without a link is refused openly, and a
     * split point outside the model is a bad request; everything else the policy decides.
     */
    private RoutingService.Routed route(CompletionRequest request, GenerationRequest generation) {
        TandemOptions options = request.tandem();
        TandemOptions.Route requested = options.route();
        String deviceOnly = deviceOnlyParameter(request);
        if (deviceOnly != null) {
            if (requested == TandemOptions.Route.SPLIT || requested == TandemOptions.Route.CLOUD
                    || requested == TandemOptions.Route.ESCALATE) {
                throw ApiProblem.invalid(deviceOnly, deviceOnly + " is applied on this device only for now; route "
                        + requested.label() + " chooses tokens in the cloud, which cannot apply it yet: use route local or auto");
            }
            requested = TandemOptions.Route.LOCAL;
        }
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

    /**
     * The first parameter only this device can apply: the cloud applies logit rules and output constraints
     * (they travel in the Decoding frame) but sends no alternatives with its tokens.
     */
    private static String deviceOnlyParameter(CompletionRequest request) {
        if (request.topLogprobs() > 0) {
            return request.chat() ? "top_logprobs" : "logprobs";
        }
        return null;
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

    /**
     * What a request generates: the prompt ids (after leaving out the oldest turns when the caller allows
     * it and the conversation does not fit), and per choice the sampling (seed + choice index).
     */
    record Prepared(GenerationRequest generation, int trimmedMessages) {
        GenerationRequest choice(int index) {
            SamplingParams s = generation.sampling();
            if (index == 0 || s.seed().isEmpty()) {
                return index == 0 ? generation : generation.withSampling(new SamplingParams(s.temperature(), s.topP(),
                        s.topK(), OptionalLong.empty()));
            }
            return generation.withSampling(new SamplingParams(s.temperature(), s.topP(), s.topK(),
                    OptionalLong.of(s.seed().getAsLong() + index)));
        }
    }

    private Prepared prepare(CompletionRequest request) {
        int context = model.contextLength();
        if (request.maxTokens() != null && request.maxTokens() > context) {
            throw new ApiProblem(ApiProblem.Kind.CONTEXT_EXCEEDED, "max_tokens",
                    "max_tokens " + request.maxTokens() + " is beyond the model's context of " + context + " tokens");
        }
        int[] ids;
        int trimmed = 0;
        ToolRequest tools = request.tools() != null && request.tools().choice() != ToolRequest.Choice.NONE
                ? request.tools() : null;
        if (request.chat()) {
            List<io.tandem.model.chat.ChatMessage> messages = request.messages();
            ids = encodeChat(messages, tools);
            // room for the answer: what the caller asked for, else a quarter of the context
            int room = request.maxTokens() != null ? request.maxTokens() : Math.max(1, context / 4);
            if (request.tandem().trimHistory()) {
                List<io.tandem.model.chat.ChatMessage> kept = new java.util.ArrayList<>(messages);
                while (ids.length + room > context) {
                    int oldest = HistoryTrim.oldestTurn(kept);
                    if (oldest < 0) {
                        break;
                    }
                    trimmed += HistoryTrim.dropTurn(kept, oldest);
                    ids = encodeChat(kept, tools);
                }
                if (ids.length + room > context) {
                    throw new ApiProblem(ApiProblem.Kind.CONTEXT_EXCEEDED, "messages", "even with the older turns left out,"
                            + " the prompt is " + ids.length + " tokens long and the answer needs " + room + "; the model's"
                            + " context holds " + context + ": shorten the last message or lower max_tokens");
                }
            }
        } else {
            ids = model.encodePrompt(request.prompt());
        }
        if (ids.length >= context) {
            throw new ApiProblem(ApiProblem.Kind.CONTEXT_EXCEEDED, request.chat() ? "messages" : "prompt",
                    "the prompt is " + ids.length + " tokens long; the model's context holds " + context
                            + ", leaving no room to generate"
                            + (request.chat() ? " (send \"tandem\": {\"trim_history\": true} to leave the oldest turns out)" : ""));
        }
        int maxTokens = request.maxTokens() != null ? request.maxTokens() : context - ids.length;
        SamplingParams sampling = new SamplingParams(
                request.temperature() == null ? 1f : request.temperature(),
                request.topP() == null ? 1f : request.topP(), 0,
                request.seed() == null ? OptionalLong.empty() : OptionalLong.of(request.seed()));
        var constraint = request.constraint();
        if (tools != null && tools.mustCall()) {
            ToolCalls.Format format = ToolCalls.format(model.tokenizer().chatTemplateSource().orElse(""));
            constraint = io.tandem.model.constrain.OutputConstraint.toolCall(format.prefix(), format.suffix(), tools.callable());
        }
        var mask = constraint == null ? null : vocabulary().compile(constraint);
        if (mask != null && maxTokens < mask.minimumTokens()) {
            throw ApiProblem.invalid(request.maxTokens() != null ? "max_tokens" : "messages", "max_tokens " + maxTokens
                    + " is too few for the required output: its shortest form takes " + mask.minimumTokens() + " tokens");
        }
        GenerationRequest generation = new GenerationRequest(ids, maxTokens, request.stop(), sampling, request.rules(),
                constraint, mask, request.logprobs() ? request.topLogprobs() : 0);
        return new Prepared(generation, trimmed);
    }

    private int[] encodeChat(List<io.tandem.model.chat.ChatMessage> messages, ToolRequest tools) {
        String rendered;
        try {
            rendered = tools == null ? model.renderChat(messages) : model.chatTemplate().render(messages, tools.definitions());
        } catch (io.tandem.model.chat.ChatTemplateException e) {
            // the model's own template refused the conversation (raise_exception), e.g. roles out of order
            throw ApiProblem.invalid("messages", "the model's chat template refused these messages: " + e.getMessage());
        }
        return model.encodeChatPrompt(rendered);
    }

    private io.tandem.model.constrain.ConstrainedVocabulary vocabulary() {
        io.tandem.model.constrain.ConstrainedVocabulary v = vocabulary;
        if (v == null) {
            synchronized (this) {
                if (vocabulary == null) {
                    vocabulary = model.tokenizer().constrainedVocabulary();
                }
                v = vocabulary;
            }
        }
        return v;
    }

    private Flux<ServerSentEvent<String>> stream(Exchange exchange, Flux<Indexed> events) {
        CompletionRequest request = exchange.request;
        boolean chat = request.chat();
        List<ServerSentEvent<String>> opening = new java.util.ArrayList<>();
        for (int i = 0; i < request.n(); i++) {
            if (chat) {
                opening.add(sse(chunk(exchange, i, Map.of("role", "assistant", "content", ""), null, null, null)));
            } else if (request.echo()) {
                opening.add(sse(chunk(exchange, i, request.prompt(), null, null, null)));
            }
        }
        GenerationResult[] results = new GenerationResult[request.n()];
        int[] finishedChoices = new int[1];
        // an answer that may be a tool call is sent whole at its end, as a call or as text
        boolean holdText = request.tools() != null && request.tools().choice() != ToolRequest.Choice.NONE;
        // flatMapIterable, not concatMap: concatMap (no prefetch since Reactor 3.5) hands a scalar inner
        // such as Flux.just to a subscription whose request() is not safe against a request from
        // another thread (here Netty's event loop) while the generation thread emits: a chunk can be
        // sent twice and the next one dropped (reactor-core issue 4406). flatMapIterable serializes
        // items and demand through one drain loop. (This did not cure the rare stalled stream of
        // issue 13: see docs/BENCHMARKS.md, "Stream stall soak".)
        Flux<ServerSentEvent<String>> body = events.doOnNext(e -> exchange.observe(e.event()))
                .flatMapIterable(indexed -> switch (indexed.event()) {
                    case InferenceEvent.Started started -> List.<ServerSentEvent<String>>of();
                    case InferenceEvent.Token token -> {
                        String text = token.token().text();
                        Map<String, Object> logprobs = request.logprobs() ? tokenLogprobs(List.of(token.token().choice())) : null;
                        yield (text.isEmpty() || holdText) && logprobs == null
                                ? List.<ServerSentEvent<String>>of()
                                : holdText ? List.of(sse(textChunk(exchange, indexed.index(), "", logprobs)))
                                : List.of(sse(textChunk(exchange, indexed.index(), text, logprobs)));
                    }
                    case InferenceEvent.TrailingText trailing -> holdText ? List.<ServerSentEvent<String>>of()
                            : List.of(sse(textChunk(exchange, indexed.index(), trailing.text(), null)));
                    case InferenceEvent.Finished finished -> {
                        results[indexed.index()] = finished.result();
                        boolean last = ++finishedChoices[0] == request.n();
                        if (last) {
                            exchange.finish("ok");
                        }
                        List<ServerSentEvent<String>> end = List.of(sse(chunk(exchange, indexed.index(),
                                chat ? Map.of() : null, finishReason(finished.result()), null, last ? tandem(exchange) : null)));
                        if (holdText) {
                            List<Map<String, Object>> calls = toolCalls(request, finished.result());
                            List<Map<String, Object>> indexedCalls = new java.util.ArrayList<>();
                            for (int c = 0; c < calls.size(); c++) {
                                Map<String, Object> call = new LinkedHashMap<>(calls.get(c));
                                call.put("index", c);
                                indexedCalls.add(call);
                            }
                            Map<String, Object> delta = calls.isEmpty() ? Map.of("content", finished.result().text())
                                    : Map.of("tool_calls", indexedCalls);
                            end = List.of(sse(chunk(exchange, indexed.index(), delta, null, null, null)),
                                    sse(chunk(exchange, indexed.index(), Map.of(), calls.isEmpty()
                                            ? finishReason(finished.result()) : "tool_calls", null, last ? tandem(exchange) : null)));
                        }
                        if (last && request.includeUsage()) {
                            Map<String, Object> usage = chunkEnvelope(exchange);
                            usage.put("choices", List.of());
                            usage.put("usage", usage(List.of(results)));
                            end = java.util.stream.Stream.concat(end.stream(), java.util.stream.Stream.of(sse(usage))).toList();
                        }
                        yield end;
                    }
                })
                .doOnCancel(() -> exchange.finish("cancelled"))
                .doOnError(e -> exchange.finish("error"))
                .onErrorResume(e -> Flux.just(sse(Map.of("error", Map.of("message", String.valueOf(e.getMessage()),
                        "type", "internal-error")))));
        Flux<ServerSentEvent<String>> all = Flux.fromIterable(opening).concatWith(body).concatWith(Flux.just(sseData("[DONE]")));
        var probe = streamProbe;
        return probe == null ? all : probe.apply(exchange.id, all);
    }

    /** Test hook (issue 13's stall soak): sees every streamed body, by answer id. Null in production. */
    static volatile java.util.function.BiFunction<String, Flux<ServerSentEvent<String>>, Flux<ServerSentEvent<String>>> streamProbe;

    private Map<String, Object> textChunk(Exchange exchange, int index, String text, Map<String, Object> logprobs) {
        return exchange.request.chat() ? chunk(exchange, index, Map.of("content", text), null, logprobs, null)
                : chunk(exchange, index, text, null, logprobs, null);
    }

    /** A streamed chunk: for chat, {@code delta} is the message delta; for text, the text itself. */
    private Map<String, Object> chunk(Exchange exchange, int index, Object delta, String finishReason,
                                      Map<String, Object> logprobs, Map<String, Object> tandem) {
        Map<String, Object> choice = new LinkedHashMap<>();
        choice.put("index", index);
        if (exchange.request.chat()) {
            choice.put("delta", delta);
        } else {
            choice.put("text", delta == null ? "" : delta);
        }
        choice.put("logprobs", logprobs == null ? null : exchange.request.chat() ? logprobs : legacyLogprobs(logprobs));
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

    private Map<String, Object> completion(Exchange exchange, List<GenerationResult> results) {
        CompletionRequest request = exchange.request;
        List<Map<String, Object>> choices = new java.util.ArrayList<>();
        for (int i = 0; i < results.size(); i++) {
            GenerationResult result = results.get(i);
            Map<String, Object> choice = new LinkedHashMap<>();
            choice.put("index", i);
            Map<String, Object> logprobs = request.logprobs() ? tokenLogprobs(result.tokens()) : null;
            if (request.chat()) {
                Map<String, Object> message = new LinkedHashMap<>();
                message.put("role", "assistant");
                List<Map<String, Object>> calls = toolCalls(request, result);
                message.put("content", calls.isEmpty() ? result.text() : null);
                if (!calls.isEmpty()) {
                    message.put("tool_calls", calls);
                }
                choice.put("message", message);
                choice.put("logprobs", logprobs);
                choice.put("finish_reason", calls.isEmpty() ? finishReason(result) : "tool_calls");
                choices.add(choice);
                continue;
            } else {
                choice.put("text", request.echo() ? request.prompt() + result.text() : result.text());
                choice.put("logprobs", logprobs == null ? null : legacyLogprobs(logprobs));
            }
            choice.put("finish_reason", finishReason(result));
            choices.add(choice);
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("id", exchange.id);
        body.put("object", request.chat() ? "chat.completion" : "text_completion");
        body.put("created", exchange.arrived.getEpochSecond());
        body.put("model", model.id());
        body.put("choices", choices);
        body.put("usage", usage(results));
        body.put("tandem", tandem(exchange));
        return body;
    }

    /** The calls in an answer to a request that offered tools (empty when it offered none or the answer is text). */
    private List<Map<String, Object>> toolCalls(CompletionRequest request, GenerationResult result) {
        if (request.tools() == null || request.tools().choice() == ToolRequest.Choice.NONE) {
            return List.of();
        }
        return ToolCalls.parse(result.text(), ToolCalls.format(model.tokenizer().chatTemplateSource().orElse("")),
                request.tools().parameters().keySet(), json);
    }

    /** OpenAI's chat logprobs: {@code {content: [{token, logprob, bytes, top_logprobs: [...]}]}}. */
    private Map<String, Object> tokenLogprobs(List<io.tandem.model.sampling.TokenChoice> tokens) {
        List<Map<String, Object>> content = new java.util.ArrayList<>();
        for (io.tandem.model.sampling.TokenChoice t : tokens) {
            Map<String, Object> entry = tokenEntry(t.token(), t.logprob());
            List<Map<String, Object>> top = new java.util.ArrayList<>();
            for (int i = 0; i < t.topIds().length; i++) {
                top.add(tokenEntry(t.topIds()[i], t.topLogprobs()[i]));
            }
            entry.put("top_logprobs", top);
            content.add(entry);
        }
        Map<String, Object> logprobs = new LinkedHashMap<>();
        logprobs.put("content", content);
        logprobs.put("refusal", null);
        return logprobs;
    }

    private Map<String, Object> tokenEntry(int id, float logprob) {
        byte[] bytes = model.tokenizer().tokenBytes(id);
        if (bytes == null) {
            bytes = new byte[0];
        }
        Map<String, Object> entry = new LinkedHashMap<>();
        entry.put("token", new String(bytes, java.nio.charset.StandardCharsets.UTF_8));
        entry.put("logprob", Float.isInfinite(logprob) ? -9999.0 : (double) logprob);
        List<Integer> byteList = new java.util.ArrayList<>(bytes.length);
        for (byte b : bytes) {
            byteList.add(b & 0xff);
        }
        entry.put("bytes", byteList);
        return entry;
    }

    /** The legacy completions shape of the same values: tokens, token_logprobs, top_logprobs as maps, text_offset. */
    @SuppressWarnings("unchecked")
    private static Map<String, Object> legacyLogprobs(Map<String, Object> chat) {
        List<String> tokens = new java.util.ArrayList<>();
        List<Object> values = new java.util.ArrayList<>();
        List<Map<String, Object>> top = new java.util.ArrayList<>();
        List<Integer> offsets = new java.util.ArrayList<>();
        int offset = 0;
        for (Map<String, Object> entry : (List<Map<String, Object>>) chat.get("content")) {
            String token = (String) entry.get("token");
            tokens.add(token);
            values.add(entry.get("logprob"));
            offsets.add(offset);
            offset += token.length();
            Map<String, Object> alternatives = new LinkedHashMap<>();
            for (Map<String, Object> alt : (List<Map<String, Object>>) entry.get("top_logprobs")) {
                alternatives.putIfAbsent((String) alt.get("token"), alt.get("logprob"));
            }
            top.add(alternatives);
        }
        Map<String, Object> legacy = new LinkedHashMap<>();
        legacy.put("tokens", tokens);
        legacy.put("token_logprobs", values);
        legacy.put("top_logprobs", top);
        legacy.put("text_offset", offsets);
        return legacy;
    }

    private static Map<String, Object> usage(List<GenerationResult> results) {
        int prompt = results.isEmpty() || results.getFirst() == null ? 0 : results.getFirst().promptIds().length;
        int completion = 0;
        for (GenerationResult r : results) {
            completion += r == null ? 0 : r.tokens().size();
        }
        Map<String, Object> usage = new LinkedHashMap<>();
        usage.put("prompt_tokens", prompt);
        usage.put("completion_tokens", completion);
        usage.put("total_tokens", prompt + completion);
        return usage;
    }

    private static Map<String, Object> tandem(Exchange exchange) {
        Map<String, Object> tandem = new LinkedHashMap<>();
        Answered answered = answered(exchange.routed.decision(), exchange.outcome);
        tandem.put("route", answered.route().label());
        tandem.put("reason", answered.reason());
        tandem.put("warnings", exchange.outcome.warnings());
        if (exchange.firstTokenNanos > 0) {
            tandem.put("ttft_ms", Math.round((exchange.firstTokenNanos - exchange.startedNanos) / 1e6 * 10) / 10.0);
        }
        if (exchange.trimmedMessages > 0) {
            tandem.put("trimmed_messages", exchange.trimmedMessages);
        }
        if (exchange.record != null && exchange.trace) {
            tandem.put("trace", AuditLog.tree(exchange.record));
        }
        return tandem;
    }

    /** The route that actually answered, and why, in the caller's words. */
    record Answered(TandemOptions.Route route, String reason) {
    }

    /**
     * The decided route is a plan: an escalating answer that stayed confident was answered on the device
     * alone, and a cloud route that fell back before its first token was too.
     */
    static Answered answered(Decision decision, RouteOutcome outcome) {
        TandemOptions.Route route = decision.route();
        if (route == TandemOptions.Route.ESCALATE && outcome.escalatedAtToken() == null) {
            return new Answered(TandemOptions.Route.LOCAL, decision.reason()
                    + "; the device stayed confident, so the cloud was not needed");
        }
        if ((route == TandemOptions.Route.SPLIT || route == TandemOptions.Route.CLOUD)
                && Integer.valueOf(0).equals(outcome.fellBackAtToken())) {
            return new Answered(TandemOptions.Route.LOCAL, decision.reason() + "; the cloud could not answer ("
                    + outcome.fallbackReason() + "), so the device did");
        }
        return new Answered(route, decision.reason());
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
        return sseData(json.writeValueAsString(data));
    }

    /** {@code data: } with a space, as OpenAI sends it (the framework writes {@code data:} and the text as given). */
    static ServerSentEvent<String> sseData(String text) {
        return ServerSentEvent.<String>builder().data(" " + text).build();
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
        int trimmedMessages;
        final boolean trace;

        Exchange(CompletionRequest request, RoutingService.Routed routed, RouteOutcome outcome, Instant arrived,
                 boolean trace) {
            this.request = request;
            this.trace = trace;
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
