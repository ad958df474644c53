package io.tandem.edge.error;

import tools.jackson.core.JacksonException;
import tools.jackson.core.TokenStreamLocation;
import tools.jackson.core.exc.StreamConstraintsException;

/**
 * A JSON syntax error in a caller's words: what is wrong and where (line and column), without the
 * parser's internals (feature flags, constraint getters, source excerpts).
 */
public final class JsonErrors {

    private JsonErrors() {
    }

    public static String describe(JacksonException e) {
        String what;
        if (e instanceof StreamConstraintsException) {
            String message = String.valueOf(e.getOriginalMessage());
            what = message.contains("nesting depth") ? "it is nested too deeply (more than 1000 levels)"
                    : message.contains("length") ? "a number, string or name in it is longer than this edge accepts"
                    : "it exceeds this edge's limits for JSON documents";
        } else {
            what = clean(e.getOriginalMessage());
        }
        TokenStreamLocation at = e.getLocation();
        if (at != null && at.getLineNr() > 0) {
            what += " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")";
        }
        return what;
    }

    /** The first sentence, without parenthesised references to parser settings such as {@code `StreamReadFeature...`}. */
    private static String clean(String message) {
        if (message == null || message.isBlank()) {
            return "it cannot be parsed";
        }
        String text = message.replaceAll("\\s*\\([^()]*`[^()]*\\)", "")
                .replaceAll("\\s*\\([^()]*(Feature|Constraints|JsonParser|JsonReadFeature)[^()]*\\)", "");
        int newline = text.indexOf('\n');
        if (newline >= 0) {
            text = text.substring(0, newline);
        }
        text = text.replace("Unexpected end-of-input", "the body ends too early").strip();
        if (text.endsWith(":")) {
            text = text.substring(0, text.length() - 1);
        }
        return text.isEmpty() ? "it cannot be parsed" : text;
    }
}
