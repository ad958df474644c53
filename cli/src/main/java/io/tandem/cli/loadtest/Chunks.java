package io.tandem.cli.loadtest;

import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Reads one streamed completion chunk: the content it carries, or the error it reports. */
public final class Chunks {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private Chunks() {
    }

    /** A chunk's content text (empty when none) or, for an error event or unreadable data, the error. */
    public record Chunk(String content, String error) {
        public boolean hasContent() {
            return !content.isEmpty();
        }
    }

    /** Chat chunks carry {@code choices[0].delta.content}, text completion chunks {@code choices[0].text}. */
    public static Chunk read(String data) {
        JsonNode node;
        try {
            node = JSON.readTree(data);
        } catch (JacksonException e) {
            return new Chunk("", "data is not JSON: " + abbreviate(data));
        }
        if (node == null || !node.isObject()) {
            return new Chunk("", "data is not a JSON object: " + abbreviate(data));
        }
        if (node.has("error")) {
            JsonNode error = node.get("error");
            String message = error.path("message").isString() ? error.path("message").stringValue() : error.toString();
            return new Chunk("", "error event: " + abbreviate(message));
        }
        JsonNode choice = node.path("choices").path(0);
        JsonNode content = choice.path("delta").path("content");
        if (!content.isString()) {
            content = choice.path("text");
        }
        return new Chunk(content.isString() ? content.stringValue() : "", null);
    }

    static String abbreviate(String text) {
        String oneLine = text.replaceAll("\\s+", " ").strip();
        return oneLine.length() <= 200 ? oneLine : oneLine.substring(0, 200) + "...";
    }
}
