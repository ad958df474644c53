package io.tandem.edge.chat;

import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/**
 * The tools a chat request offers and how the model may use them: {@code choice} is none, auto,
 * required, or the name of the one function it must call ({@code forced}).
 *
 * @param definitions the request's {@code tools} entries as plain maps, for the chat template
 * @param parameters  each function's name to its parameters schema
 */
public record ToolRequest(List<Map<String, Object>> definitions, Map<String, JsonNode> parameters, Choice choice,
                          String forced) {

    public enum Choice { NONE, AUTO, REQUIRED, FUNCTION }

    public ToolRequest {
        definitions = List.copyOf(definitions);
        parameters = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(parameters));
    }

    /** Whether the answer must be a call, decoded under the tools' schemas. */
    public boolean mustCall() {
        return choice == Choice.REQUIRED || choice == Choice.FUNCTION;
    }

    /** The functions the call may name. */
    public Map<String, JsonNode> callable() {
        return choice == Choice.FUNCTION ? Map.of(forced, parameters.get(forced)) : parameters;
    }
}
