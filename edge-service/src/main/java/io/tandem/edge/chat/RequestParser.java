package io.tandem.edge.chat;

import io.tandem.edge.error.ApiProblem;
import io.tandem.model.chat.ChatMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Reads an OpenAI-style request body by hand so every wrong field gets a message naming it and
 * saying what was expected. Every parameter is honoured or refused: an unknown or unsupported one is
 * a 400 naming it, except the metadata OpenAI accepts that changes no answer ({@link #METADATA}).
 */
public final class RequestParser {

    private static final int MAX_STOP_STRINGS = 4;
    static final int MAX_CHOICES = 8;
    static final int MAX_TOP_LOGPROBS = 20;
    /** Accepted and ignored: they describe the caller or ask for storage, and change no answer. */
    public static final Set<String> METADATA = Set.of("user", "metadata", "store", "service_tier", "safety_identifier",
            "prompt_cache_key");
    private static final Set<String> COMMON = Set.of("model", "max_tokens", "temperature", "top_p", "seed", "stop",
            "stream", "stream_options", "n", "logprobs", "presence_penalty", "frequency_penalty", "logit_bias", "tandem");
    private static final Set<String> CHAT = union(COMMON, Set.of("messages", "max_completion_tokens", "top_logprobs",
            "response_format", "tools", "tool_choice", "parallel_tool_calls"));
    private static final Set<String> TEXT = union(COMMON, Set.of("prompt", "echo"));
    private static final Map<String, String> NOT_SUPPORTED = Map.of(
            "best_of", "best_of is not supported: ask for n choices and pick one",
            "suffix", "suffix (text after the insertion point) is not supported: this model only continues text",
            "functions", "functions is OpenAI's deprecated form of tools: use tools",
            "function_call", "function_call is OpenAI's deprecated form of tool_choice: use tool_choice",
            "audio", "audio is not supported: this model reads and writes text only",
            "modalities", "modalities is not supported: this model reads and writes text only",
            "prediction", "prediction (predicted outputs) is not supported",
            "reasoning_effort", "reasoning_effort is not supported: this model does not reason in hidden steps",
            "web_search_options", "web_search_options is not supported: this edge does not search the web",
            "verbosity", "verbosity is not supported");
    private final JsonMapper json;
    private final int vocabSize;
    private final String toolsRefusal;

    /** @param toolsRefusal why this model refuses tools (its chat template renders none), or null when it takes them */
    public RequestParser(JsonMapper json, int vocabSize, String toolsRefusal) {
        this.json = json;
        this.vocabSize = vocabSize;
        this.toolsRefusal = toolsRefusal;
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> all = new java.util.HashSet<>(a);
        all.addAll(b);
        return Set.copyOf(all);
    }

    public CompletionRequest parseChat(String body) {
        JsonNode root = object(body);
        refuseUnknown(root, CHAT);
        JsonNode messages = root.get("messages");
        if (messages == null || messages.isNull()) {
            throw ApiProblem.invalid("messages", "messages is required: a list of {role, content} objects");
        }
        if (!messages.isArray()) {
            throw ApiProblem.invalid("messages", "messages must be an array, was " + type(messages));
        }
        if (messages.isEmpty()) {
            throw ApiProblem.invalid("messages", "messages must not be empty");
        }
        List<ChatMessage> parsed = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            parsed.add(message(messages.get(i), "messages[" + i + "]"));
        }
        Integer maxTokens = optionalInt(root, "max_completion_tokens");
        if (maxTokens == null) {
            maxTokens = optionalInt(root, "max_tokens");
        }
        ToolRequest tools = tools(root);
        boolean logprobs = optionalBoolean(root, "logprobs", false);
        Integer top = optionalInt(root, "top_logprobs");
        if (top != null && (top < 0 || top > MAX_TOP_LOGPROBS)) {
            throw ApiProblem.invalid("top_logprobs", "top_logprobs must be between 0 and " + MAX_TOP_LOGPROBS + ", was " + top);
        }
        if (top != null && top > 0 && !logprobs) {
            throw ApiProblem.invalid("top_logprobs", "top_logprobs needs logprobs: true");
        }
        io.tandem.model.constrain.OutputConstraint format = responseFormat(root.get("response_format"));
        if (format != null && tools != null && tools.choice() != ToolRequest.Choice.NONE) {
            throw ApiProblem.invalid("response_format", "response_format and tools cannot both shape one answer");
        }
        CompletionRequest request = common(root, List.copyOf(parsed), null, maxTokens, logprobs, top == null ? 0 : top,
                format, false);
        return request.withTools(tools);
    }

    /**
     * OpenAI's tools: function definitions with JSON-schema parameters, and tool_choice. A model whose chat
     * template renders no tools refuses them ({@code toolsRefusal}); a parameters schema the decoder cannot
     * enforce is refused naming the keyword.
     */
    private ToolRequest tools(JsonNode root) {
        JsonNode tools = root.get("tools");
        JsonNode choice = root.get("tool_choice");
        JsonNode parallel = root.get("parallel_tool_calls");
        boolean none = tools == null || tools.isNull() || (tools.isArray() && tools.isEmpty());
        if (none) {
            if (choice != null && !choice.isNull() && !(choice.isString() && choice.stringValue().equals("none"))) {
                throw ApiProblem.invalid("tool_choice", "tool_choice needs tools");
            }
            return null;
        }
        if (toolsRefusal != null) {
            throw ApiProblem.invalid("tools", toolsRefusal);
        }
        if (!tools.isArray()) {
            throw ApiProblem.invalid("tools", "tools must be an array of {type: function, function: {name, parameters}}");
        }
        if (parallel != null && !parallel.isNull() && !parallel.isBoolean()) {
            throw ApiProblem.invalid("parallel_tool_calls", "parallel_tool_calls must be true or false");
        }
        List<Map<String, Object>> definitions = new ArrayList<>();
        Map<String, JsonNode> parameters = new java.util.LinkedHashMap<>();
        for (int i = 0; i < tools.size(); i++) {
            String where = "tools[" + i + "]";
            JsonNode tool = tools.get(i);
            JsonNode function = tool.get("function");
            if (!tool.isObject() || !"function".equals(tool.path("type").asString("")) || function == null || !function.isObject()) {
                throw ApiProblem.invalid(where, where + " must be {type: function, function: {name, description, parameters}}");
            }
            String name = function.path("name").asString("");
            if (!name.matches("[A-Za-z0-9_-]{1,64}")) {
                throw ApiProblem.invalid(where + ".function.name", where + ".function.name must be 1 to 64 letters, digits,"
                        + " underscores or dashes, was '" + name + "'");
            }
            if (parameters.containsKey(name)) {
                throw ApiProblem.invalid(where + ".function.name", "two tools are named '" + name + "'");
            }
            JsonNode schema = function.get("parameters");
            if (schema == null || schema.isNull()) {
                schema = json.readTree("{\"type\":\"object\",\"properties\":{}}");
            }
            try {
                io.tandem.model.constrain.OutputConstraint.jsonSchema(schema.toString());
            } catch (io.tandem.model.constrain.OutputConstraint.SchemaException e) {
                throw ApiProblem.invalid(where + ".function.parameters" + e.path().substring("schema".length()), e.getMessage());
            }
            parameters.put(name, schema);
            @SuppressWarnings("unchecked")
            Map<String, Object> definition = json.convertValue(tool, Map.class);
            definitions.add(definition);
        }
        ToolRequest.Choice mode = ToolRequest.Choice.AUTO;
        String forced = null;
        if (choice != null && !choice.isNull()) {
            if (choice.isString()) {
                mode = switch (choice.stringValue()) {
                    case "none" -> ToolRequest.Choice.NONE;
                    case "auto" -> ToolRequest.Choice.AUTO;
                    case "required" -> ToolRequest.Choice.REQUIRED;
                    default -> throw ApiProblem.invalid("tool_choice", "tool_choice must be none, auto, required or"
                            + " {type: function, function: {name}}, was '" + choice.stringValue() + "'");
                };
            } else if (choice.isObject() && "function".equals(choice.path("type").asString(""))) {
                forced = choice.path("function").path("name").asString("");
                if (!parameters.containsKey(forced)) {
                    throw ApiProblem.invalid("tool_choice", "tool_choice names '" + forced + "', which is not among the tools");
                }
                mode = ToolRequest.Choice.FUNCTION;
            } else {
                throw ApiProblem.invalid("tool_choice", "tool_choice must be none, auto, required or {type: function,"
                        + " function: {name}}");
            }
        }
        return new ToolRequest(definitions, parameters, mode, forced);
    }

    public CompletionRequest parseCompletion(String body) {
        JsonNode root = object(body);
        refuseUnknown(root, TEXT);
        JsonNode prompt = root.get("prompt");
        String text;
        if (prompt == null || prompt.isNull()) {
            text = "";
        } else if (prompt.isString()) {
            text = prompt.stringValue();
        } else if (prompt.isArray() && prompt.size() == 1 && prompt.get(0).isString()) {
            text = prompt.get(0).stringValue();
        } else {
            throw ApiProblem.invalid("prompt", "prompt must be a string (or an array of one string), was " + type(prompt));
        }
        // the legacy API's logprobs is a number: how many alternatives per token (0..5)
        Integer logprobs = optionalInt(root, "logprobs");
        if (logprobs != null && (logprobs < 0 || logprobs > 5)) {
            throw ApiProblem.invalid("logprobs", "logprobs must be between 0 and 5 for text completions, was " + logprobs);
        }
        boolean echo = optionalBoolean(root, "echo", false);
        return common(root, null, text, optionalInt(root, "max_tokens"), logprobs != null, logprobs == null ? 0 : logprobs,
                null, echo);
    }

    private static void refuseUnknown(JsonNode root, Set<String> known) {
        for (String name : root.propertyNames()) {
            if (known.contains(name) || METADATA.contains(name)) {
                continue;
            }
            String why = NOT_SUPPORTED.get(name);
            if (why == null) {
                why = (known == TEXT && name.equals("messages")) ? "messages belongs to POST /v1/chat/completions; "
                        + "text completions take prompt"
                        : (known == CHAT && (name.equals("prompt") || name.equals("echo"))) ? name + " belongs to POST "
                        + "/v1/completions; chat completions take messages"
                        : "unknown parameter '" + name + "': this server honours the parameters listed in its README and "
                        + "refuses the rest rather than ignore them";
            }
            throw ApiProblem.invalid(name, why);
        }
    }

    private static io.tandem.model.constrain.OutputConstraint responseFormat(JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isObject() || node.get("type") == null || !node.get("type").isString()) {
            throw ApiProblem.invalid("response_format", "response_format must be an object with a type: text, json_object or json_schema");
        }
        String type = node.get("type").stringValue();
        switch (type) {
            case "text" -> {
                return null;
            }
            case "json_object" -> {
                return io.tandem.model.constrain.OutputConstraint.jsonObject();
            }
            case "json_schema" -> {
                JsonNode spec = node.get("json_schema");
                if (spec == null || !spec.isObject()) {
                    throw ApiProblem.invalid("response_format.json_schema", "response_format.json_schema must be an object"
                            + " with name and schema");
                }
                JsonNode schema = spec.get("schema");
                if (schema == null || !schema.isObject()) {
                    throw ApiProblem.invalid("response_format.json_schema.schema", "response_format.json_schema.schema must be"
                            + " a JSON schema object");
                }
                try {
                    return io.tandem.model.constrain.OutputConstraint.jsonSchema(schema.toString());
                } catch (io.tandem.model.constrain.OutputConstraint.SchemaException e) {
                    throw ApiProblem.invalid("response_format.json_schema." + e.path(), e.getMessage());
                }
            }
            default -> throw ApiProblem.invalid("response_format.type", "response_format.type must be text, json_object or"
                    + " json_schema, was '" + type + "'");
        }
    }

    private CompletionRequest common(JsonNode root, List<ChatMessage> messages, String prompt, Integer maxTokens,
                                     boolean logprobs, int topLogprobs, io.tandem.model.constrain.OutputConstraint constraint,
                                     boolean echo) {
        if (maxTokens != null && maxTokens < 1) {
            throw ApiProblem.invalid("max_tokens", "max_tokens must be at least 1, was " + maxTokens);
        }
        Float temperature = optionalFloat(root, "temperature");
        if (temperature != null && (temperature < 0 || temperature > 2)) {
            throw ApiProblem.invalid("temperature", "temperature must be between 0 and 2, was " + temperature);
        }
        Float topP = optionalFloat(root, "top_p");
        if (topP != null && (topP <= 0 || topP > 1)) {
            throw ApiProblem.invalid("top_p", "top_p must be in (0, 1], was " + topP);
        }
        Long seed = null;
        JsonNode seedNode = root.get("seed");
        if (seedNode != null && !seedNode.isNull()) {
            if (!seedNode.isIntegralNumber() || !seedNode.canConvertToLong()) {
                throw ApiProblem.invalid("seed", "seed must be an integer, was " + type(seedNode));
            }
            seed = seedNode.longValue();
        }
        boolean stream = optionalBoolean(root, "stream", false);
        boolean includeUsage = false;
        JsonNode streamOptions = root.get("stream_options");
        if (streamOptions != null && !streamOptions.isNull()) {
            if (!streamOptions.isObject()) {
                throw ApiProblem.invalid("stream_options", "stream_options must be an object, was " + type(streamOptions));
            }
            for (String name : streamOptions.propertyNames()) {
                if (!name.equals("include_usage")) {
                    throw ApiProblem.invalid("stream_options." + name, "unknown parameter 'stream_options." + name
                            + "': only include_usage is supported");
                }
            }
            includeUsage = optionalBoolean(streamOptions, "include_usage", false, "stream_options.");
        }
        Integer n = optionalInt(root, "n");
        if (n != null && (n < 1 || n > MAX_CHOICES)) {
            throw ApiProblem.invalid("n", "n must be between 1 and " + MAX_CHOICES + ", was " + n);
        }
        float presence = penalty(root, "presence_penalty");
        float frequency = penalty(root, "frequency_penalty");
        io.tandem.model.sampling.LogitRules rules = new io.tandem.model.sampling.LogitRules(logitBias(root.get("logit_bias")),
                presence, frequency);
        String model = null;
        JsonNode modelNode = root.get("model");
        if (modelNode != null && !modelNode.isNull()) {
            if (!modelNode.isString()) {
                throw ApiProblem.invalid("model", "model must be a string, was " + type(modelNode));
            }
            model = modelNode.stringValue();
        }
        return new CompletionRequest(model, messages, prompt, maxTokens, temperature, topP, seed, stop(root.get("stop")),
                stream, includeUsage, tandem(root.get("tandem")), n == null ? 1 : n, logprobs, topLogprobs, rules, constraint,
                echo, null);
    }

    private static float penalty(JsonNode root, String field) {
        Float value = optionalFloat(root, field);
        if (value != null && !(value >= -2f && value <= 2f)) {
            throw ApiProblem.invalid(field, field + " must be between -2 and 2, was " + value);
        }
        return value == null ? 0f : value;
    }

    private Map<Integer, Float> logitBias(JsonNode node) {
        if (node == null || node.isNull()) {
            return Map.of();
        }
        if (!node.isObject()) {
            throw ApiProblem.invalid("logit_bias", "logit_bias must be an object mapping token ids to values, was " + type(node));
        }
        Map<Integer, Float> bias = new java.util.TreeMap<>();
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            int id;
            try {
                id = Integer.parseInt(e.getKey());
            } catch (NumberFormatException ex) {
                throw ApiProblem.invalid("logit_bias", "logit_bias keys must be token ids, was '" + e.getKey() + "'");
            }
            if (id < 0 || id >= vocabSize) {
                throw ApiProblem.invalid("logit_bias", "logit_bias names token " + id + ", outside the vocabulary [0, "
                        + vocabSize + ")");
            }
            if (!e.getValue().isNumber() || !(Math.abs(e.getValue().doubleValue()) <= 100)) {
                throw ApiProblem.invalid("logit_bias", "logit_bias values must be numbers between -100 and 100, was "
                        + e.getValue() + " for token " + id);
            }
            bias.put(id, (float) e.getValue().doubleValue());
        }
        return bias;
    }

    private JsonNode object(String body) {
        if (body == null || body.isBlank()) {
            throw ApiProblem.invalid(null, "the request body is empty: send a JSON object");
        }
        JsonNode root;
        try {
            root = json.readTree(body);
        } catch (JacksonException e) {
            throw ApiProblem.invalid(null, "the request body is not valid JSON: " + io.tandem.edge.error.JsonErrors.describe(e));
        }
        if (root == null || !root.isObject()) {
            throw ApiProblem.invalid(null, "the request body must be a JSON object, was " + (root == null ? "empty" : type(root)));
        }
        return root;
    }

    private static ChatMessage message(JsonNode node, String where) {
        if (!node.isObject()) {
            throw ApiProblem.invalid(where, where + " must be an object with role and content, was " + type(node));
        }
        JsonNode role = node.get("role");
        if (role == null || !role.isString()) {
            throw ApiProblem.invalid(where + ".role", where + ".role must be a string: system, user or assistant");
        }
        ChatMessage.Role parsedRole;
        try {
            parsedRole = ChatMessage.Role.parse(role.stringValue());
        } catch (IllegalArgumentException e) {
            String r = role.stringValue();
            // OpenAI's "developer" role is the newer name of "system".
            if (!r.equals("developer")) {
                throw ApiProblem.invalid(where + ".role", where + ".role: " + e.getMessage());
            }
            parsedRole = ChatMessage.Role.SYSTEM;
        }
        return new ChatMessage(parsedRole, content(node.get("content"), where + ".content"));
    }

    /** A string, or OpenAI's array of content parts of which only text parts are understood. */
    private static String content(JsonNode node, String where) {
        if (node == null || node.isNull()) {
            throw ApiProblem.invalid(where, where + " is required");
        }
        if (node.isString()) {
            return node.stringValue();
        }
        if (node.isArray()) {
            StringBuilder text = new StringBuilder();
            for (int i = 0; i < node.size(); i++) {
                JsonNode part = node.get(i);
                JsonNode kind = part.get("type");
                if (!part.isObject() || kind == null || !"text".equals(kind.asString()) || part.get("text") == null
                        || !part.get("text").isString()) {
                    throw ApiProblem.invalid(where, where + "[" + i + "] must be a {type: text, text} part: "
                            + "this model reads text only");
                }
                text.append(part.get("text").stringValue());
            }
            return text.toString();
        }
        throw ApiProblem.invalid(where, where + " must be a string, was " + type(node));
    }

    private static List<String> stop(JsonNode node) {
        if (node == null || node.isNull()) {
            return List.of();
        }
        List<String> stops = new ArrayList<>();
        if (node.isString()) {
            stops.add(node.stringValue());
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                if (!node.get(i).isString()) {
                    throw ApiProblem.invalid("stop", "stop[" + i + "] must be a string, was " + type(node.get(i)));
                }
                stops.add(node.get(i).stringValue());
            }
        } else {
            throw ApiProblem.invalid("stop", "stop must be a string or an array of strings, was " + type(node));
        }
        if (stops.size() > MAX_STOP_STRINGS) {
            throw ApiProblem.invalid("stop", "stop takes at most " + MAX_STOP_STRINGS + " strings, got " + stops.size());
        }
        if (stops.stream().anyMatch(String::isEmpty)) {
            throw ApiProblem.invalid("stop", "stop strings must not be empty");
        }
        return List.copyOf(stops);
    }

    private static TandemOptions tandem(JsonNode node) {
        if (node == null || node.isNull()) {
            return TandemOptions.DEFAULT;
        }
        if (!node.isObject()) {
            throw ApiProblem.invalid("tandem", "tandem must be an object, was " + type(node));
        }
        TandemOptions.Route route = choice(node, "route", TandemOptions.Route.class, TandemOptions.Route.AUTO);
        TandemOptions.Sensitivity sensitivity = choice(node, "sensitivity", TandemOptions.Sensitivity.class,
                TandemOptions.Sensitivity.INTERNAL);
        Integer slo = optionalInt(node, "latency_slo_ms", "tandem.");
        if (slo != null && slo < 1) {
            throw ApiProblem.invalid("tandem.latency_slo_ms", "tandem.latency_slo_ms must be positive, was " + slo);
        }
        Integer splitLayer = optionalInt(node, "split_layer", "tandem.");
        if (splitLayer != null && splitLayer < 1) {
            throw ApiProblem.invalid("tandem.split_layer", "tandem.split_layer must be at least 1, was " + splitLayer);
        }
        boolean consent = optionalBoolean(node, "offload_consent", true, "tandem.");
        boolean trace = optionalBoolean(node, "trace", false, "tandem.");
        boolean trim = optionalBoolean(node, "trim_history", false, "tandem.");
        for (String name : node.propertyNames()) {
            if (!TandemOptions.KEYS.contains(name)) {
                throw ApiProblem.invalid("tandem." + name, "unknown parameter 'tandem." + name + "': the tandem object takes "
                        + String.join(", ", new java.util.TreeSet<>(TandemOptions.KEYS)));
            }
        }
        return new TandemOptions(route, sensitivity, slo, splitLayer, consent, trace, trim);
    }

    private static <E extends Enum<E>> E choice(JsonNode parent, String field, Class<E> type, E fallback) {
        JsonNode node = parent.get(field);
        if (node == null || node.isNull()) {
            return fallback;
        }
        List<String> allowed = new ArrayList<>();
        for (E e : type.getEnumConstants()) {
            allowed.add(e.name().toLowerCase(Locale.ROOT));
        }
        if (node.isString()) {
            for (E e : type.getEnumConstants()) {
                if (e.name().toLowerCase(Locale.ROOT).equals(node.stringValue())) {
                    return e;
                }
            }
        }
        throw ApiProblem.invalid("tandem." + field, "tandem." + field + " must be one of " + String.join(", ", allowed)
                + ", was " + node);
    }

    private static Integer optionalInt(JsonNode parent, String field) {
        return optionalInt(parent, field, "");
    }

    /** {@code prefix} names the object the field sits in, so the problem names the field's full path. */
    private static Integer optionalInt(JsonNode parent, String field, String prefix) {
        JsonNode node = parent.get(field);
        if (node == null || node.isNull()) {
            return null;
        }
        String path = prefix + field;
        if (!node.isIntegralNumber()) {
            throw ApiProblem.invalid(path, path + " must be an integer, was " + type(node));
        }
        if (!node.canConvertToInt()) {
            throw ApiProblem.invalid(path, path + " is out of range: " + node);
        }
        return node.intValue();
    }

    private static Float optionalFloat(JsonNode parent, String field) {
        JsonNode node = parent.get(field);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isNumber()) {
            throw ApiProblem.invalid(field, field + " must be a number, was " + type(node));
        }
        return (float) node.doubleValue();
    }

    private static boolean optionalBoolean(JsonNode parent, String field, boolean fallback) {
        return optionalBoolean(parent, field, fallback, "");
    }

    private static boolean optionalBoolean(JsonNode parent, String field, boolean fallback, String prefix) {
        JsonNode node = parent.get(field);
        if (node == null || node.isNull()) {
            return fallback;
        }
        if (!node.isBoolean()) {
            throw ApiProblem.invalid(prefix + field, prefix + field + " must be true or false, was " + type(node));
        }
        return node.booleanValue();
    }

    private static String type(JsonNode node) {
        return switch (node.getNodeType()) {
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case NULL -> "null";
            default -> node.getNodeType().name().toLowerCase(Locale.ROOT);
        };
    }
}
