package io.tandem.model.chat.jinja;

/** One lexical token of a template: text between tags, a tag delimiter, or a piece of an expression. */
record Token(Type type, String text, Object value, int line) {

    enum Type {
        TEXT, VARIABLE_BEGIN, VARIABLE_END, BLOCK_BEGIN, BLOCK_END, NAME, STRING, INTEGER, FLOAT, OPERATOR, EOF
    }

    boolean is(Type expected) {
        return type == expected;
    }

    boolean isOperator(String op) {
        return type == Type.OPERATOR && text.equals(op);
    }

    boolean isName(String name) {
        return type == Type.NAME && text.equals(name);
    }

    String describe() {
        return switch (type) {
            case EOF -> "end of template";
            case TEXT -> "template text";
            case VARIABLE_BEGIN -> "'{{'";
            case VARIABLE_END -> "'}}'";
            case BLOCK_BEGIN -> "'{%'";
            case BLOCK_END -> "'%}'";
            default -> "'" + text + "'";
        };
    }
}
