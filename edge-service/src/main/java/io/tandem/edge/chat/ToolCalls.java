package io.tandem.edge.chat;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * How a chat template asks the model to write a tool call, and reading calls back out of an answer
 * into OpenAI's {@code tool_calls}.
 */
final class ToolCalls {

    private ToolCalls() {
    }

    /** The text around the call's JSON {@code {"name": ..., "arguments": ...}}. */
    record Format(String prefix, String suffix) {
    }

    /** Hermes-style templates (Qwen2.5, Qwen3, SmolLM3 ...) wrap the call in tool_call tags; others take bare JSON. */
    static Format format(String templateSource) {
        return templateSource.contains("<tool_call>") ? new Format("<tool_call>\n", "\n</tool_call>") : new Format("", "");
    }

    /** Every call in {@code text} naming a known tool with object arguments, in order. */
    static List<Map<String, Object>> parse(String text, Format format, Set<String> names, JsonMapper json) {
        List<Map<String, Object>> calls = new ArrayList<>();
        List<String> bodies = new ArrayList<>();
        if (format.prefix().isEmpty()) {
            bodies.add(text.strip());
        } else {
            String open = format.prefix().strip();
            String close = format.suffix().strip();
            int at = 0;
            while ((at = text.indexOf(open, at)) >= 0) {
                int end = text.indexOf(close, at + open.length());
                bodies.add(text.substring(at + open.length(), end < 0 ? text.length() : end).strip());
                at = end < 0 ? text.length() : end + close.length();
            }
        }
        for (String body : bodies) {
            JsonNode call;
            try {
                call = json.readTree(body);
            } catch (JacksonException e) {
                continue;
            }
            if (call == null || !call.isObject() || !call.path("name").isString() || !names.contains(call.get("name").stringValue())
                    || !call.path("arguments").isObject()) {
                continue;
            }
            Map<String, Object> function = new LinkedHashMap<>();
            function.put("name", call.get("name").stringValue());
            function.put("arguments", call.get("arguments").toString());
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("id", "call_" + UUID.randomUUID().toString().replace("-", "").substring(0, 24));
            entry.put("type", "function");
            entry.put("function", function);
            calls.add(entry);
        }
        return calls;
    }
}
