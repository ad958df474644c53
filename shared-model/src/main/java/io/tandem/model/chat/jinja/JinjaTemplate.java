package io.tandem.model.chat.jinja;

import io.tandem.model.chat.jinja.Ast.Stmt;
import java.time.Clock;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.Map;

/**
 * A compiled Jinja template, rendered with Python Jinja2's semantics as Hugging Face applies chat
 * templates: {@code trim_blocks} and {@code lstrip_blocks} on, Python values and string methods, the
 * {@code raise_exception}, {@code strftime_now} and {@code tojson} transformers defines. Compiling parses
 * the source once and rejects unknown tags, filters and tests; rendering is thread-safe.
 */
public final class JinjaTemplate {

    private final List<Stmt> body;
    private final Clock clock;

    private JinjaTemplate(List<Stmt> body, Clock clock) {
        this.body = body;
        this.clock = clock;
    }

    /** Parses the source; a template with a syntax error throws {@link JinjaException} of kind SYNTAX. */
    public static JinjaTemplate compile(String source) {
        return compile(source, Clock.systemDefaultZone());
    }

    /** As {@link #compile(String)}, with the clock {@code strftime_now()} reads (tests pin it). */
    public static JinjaTemplate compile(String source, Clock clock) {
        if (source == null) {
            throw new IllegalArgumentException("a template needs source text");
        }
        try {
            return new JinjaTemplate(Parser.parse(source), clock);
        } catch (StackOverflowError e) { // a template nested absurdly deep, e.g. thousands of '('
            throw new JinjaException(JinjaException.Kind.SYNTAX, "the template nests too deeply", 0);
        }
    }

    /**
     * Renders with the given variables (Strings, numbers, booleans, null, Maps, Lists; nested freely).
     * A failure throws {@link JinjaException}: kind RAISED when the template called raise_exception.
     */
    public String render(Map<String, ?> variables) {
        Map<String, Object> globals = Builtins.globals(() -> ZonedDateTime.now(clock));
        try {
            return new Renderer().render(body, globals, variables);
        } catch (StackOverflowError e) {
            throw new JinjaException(JinjaException.Kind.RENDER, "the template nests too deeply", 0);
        }
    }
}
