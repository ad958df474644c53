package io.tandem.edge.chat;

import io.tandem.edge.error.ApiProblem;
import io.tandem.model.chat.ChatMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Reads an OpenAI-style request body by hand so every wrong field gets a message naming it and
 * saying what was expected. Unknown fields are ignored, as OpenAI-compatible servers do.
 */
public final class RequestParser {

    private static final int MAX_STOP_STRINGS = 4;
    private final JsonMapper json;

    public RequestParser(JsonMapper json) {
        this.json = json;
    }

    public CompletionRequest parseChat(String body) {
        JsonNode root = object(body);
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
        return common(root, List.copyOf(parsed), null, maxTokens);
    }

    public CompletionRequest parseCompletion(String body) {
        JsonNode root = object(body);
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
        return common(root, null, text, optionalInt(root, "max_tokens"));
    }

    private CompletionRequest common(JsonNode root, List<ChatMessage> messages, String prompt, Integer maxTokens) {
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
            includeUsage = optionalBoolean(streamOptions, "include_usage", false);
        }
        String model = null;
        JsonNode modelNode = root.get("model");
        if (modelNode != null && !modelNode.isNull()) {
            if (!modelNode.isString()) {
                throw ApiProblem.invalid("model", "model must be a string, was " + type(modelNode));
            }
            model = modelNode.stringValue();
        }
        return new CompletionRequest(model, messages, prompt, maxTokens, temperature, topP, seed, stop(root.get("stop")),
                stream, includeUsage, tandem(root.get("tandem")));
    }

    private JsonNode object(String body) {
        if (body == null || body.isBlank()) {
            throw ApiProblem.invalid(null, "the request body is empty: send a JSON object");
        }
        JsonNode root;
        try {
            root = json.readTree(body);
        } catch (JacksonException e) {
            throw ApiProblem.invalid(null, "the request body is not valid JSON: " + e.getOriginalMessage());
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
        return new TandemOptions(route, sensitivity, slo, splitLayer, consent);
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
