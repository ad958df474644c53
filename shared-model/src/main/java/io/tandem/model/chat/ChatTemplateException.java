package io.tandem.model.chat;

/**
 * A chat template that cannot be used: its source does not compile, it failed while rendering, or it
 * rejected the conversation on purpose ({@code raise_exception}, e.g. "System role not supported").
 */
public final class ChatTemplateException extends RuntimeException {

    public enum Problem {
        /** The template source is not valid Jinja (or uses a tag, filter or test this engine lacks). */
        SYNTAX_ERROR,
        /** The template broke while rendering: a type error, an undefined value used, a limit reached. */
        RENDER_ERROR,
        /** The template refused this conversation with its own message, e.g. roles out of order. */
        REJECTED_CONVERSATION
    }

    private final Problem problem;
    private final String detail;
    private final int line;

    ChatTemplateException(Problem problem, String detail, int line, Throwable cause) {
        super(describe(problem, detail, line), cause);
        this.problem = problem;
        this.detail = detail;
        this.line = line;
    }

    private static String describe(Problem problem, String detail, int line) {
        String where = line > 0 ? " (template line " + line + ")" : "";
        return switch (problem) {
            case SYNTAX_ERROR -> "the model's chat template does not compile" + where + ": " + detail;
            case RENDER_ERROR -> "the model's chat template failed" + where + ": " + detail;
            case REJECTED_CONVERSATION -> "the model's chat template rejected the conversation: " + detail;
        };
    }

    public Problem problem() {
        return problem;
    }

    /** The engine's or the template's own words, without the location. */
    public String detail() {
        return detail;
    }

    /** The template line (1-based), or 0 when unknown. */
    public int line() {
        return line;
    }
}
