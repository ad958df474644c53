package io.tandem.model.chat.jinja;

/**
 * Jinja2's default undefined value: empty when printed, false when tested, an empty sequence when iterated,
 * and an error when used any further (attribute, item, arithmetic, call). Real chat templates rely on the
 * lenient part, e.g. {@code {% if message.tool_calls %}} for messages that have none.
 */
final class Undefined {

    private final String description;

    private Undefined(String description) {
        this.description = description;
    }

    static Undefined named(String name) {
        return new Undefined("'" + name + "' is undefined");
    }

    static Undefined because(String description) {
        return new Undefined(description);
    }

    /** The error to raise when this value is used beyond what Jinja2 allows. */
    PyError error() {
        return new PyError(description);
    }

    @Override
    public String toString() {
        return "";
    }
}
