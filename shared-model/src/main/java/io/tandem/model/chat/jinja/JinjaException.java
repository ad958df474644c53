package io.tandem.model.chat.jinja;

/**
 * A template that cannot be compiled, or that failed while rendering. {@link #line()} is the template line
 * (1-based) where it happened, or 0 when no line is known.
 */
public final class JinjaException extends RuntimeException {

    /** What went wrong, so a caller can tell a template bug from a conversation the template refused. */
    public enum Kind {
        /** The source is not a template this engine understands: caught when the template is compiled. */
        SYNTAX,
        /** The template failed while rendering: a type error, an undefined value used, a limit reached. */
        RENDER,
        /** The template itself called {@code raise_exception(message)}: it refuses these inputs. */
        RAISED
    }

    private final Kind kind;
    private final String detail;
    private final int line;

    JinjaException(Kind kind, String detail, int line) {
        super(describe(kind, detail, line));
        this.kind = kind;
        this.detail = detail;
        this.line = line;
    }

    private static String describe(Kind kind, String detail, int line) {
        String where = line > 0 ? " at line " + line : "";
        return switch (kind) {
            case SYNTAX -> "template syntax error" + where + ": " + detail;
            case RENDER -> "template error" + where + ": " + detail;
            case RAISED -> detail;
        };
    }

    public Kind kind() {
        return kind;
    }

    /** The message without the location: for {@link Kind#RAISED} exactly the template's own words. */
    public String detail() {
        return detail;
    }

    public int line() {
        return line;
    }
}
