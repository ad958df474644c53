package io.tandem.model.chat.jinja;

import io.tandem.model.chat.jinja.JinjaException.Kind;
import io.tandem.model.chat.jinja.Token.Type;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits template source into tokens the way Jinja2's lexer does with the settings Hugging Face renders
 * chat templates under ({@code trim_blocks=True, lstrip_blocks=True}, no trailing newline kept): the
 * whitespace rules decide the exact prompt text, so they follow Jinja2 to the character.
 */
final class Lexer {

    // longest first, so '//' wins over '/'
    private static final String[] OPERATORS = {
        "//", "**", "==", "!=", "<=", ">=",
        "+", "-", "*", "/", "%", "~", "(", ")", "[", "]", "{", "}", ",", ".", ":", "|", "=", "<", ">", ";"
    };
    private static final Pattern RAW_BEGIN = Pattern.compile("\\s*raw\\s*(-?)%}");
    private static final Pattern RAW_END = Pattern.compile("\\{%([-+]?)\\s*endraw\\s*([-+]?)%}");

    private final String src;
    private final List<Token> tokens = new ArrayList<>();
    private int pos;
    private int line = 1;
    /** Whether the last tag consumed ended a line: lstrip_blocks then applies to text that starts the next. */
    private boolean lineStarting = true;

    private Lexer(String source) {
        // Jinja2 joins the source's lines with '\n' and so drops one trailing newline (keep_trailing_newline=False)
        String normalized = source.replace("\r\n", "\n").replace('\r', '\n');
        if (normalized.endsWith("\n")) {
            normalized = normalized.substring(0, normalized.length() - 1);
        }
        this.src = normalized;
    }

    static List<Token> tokenize(String source) {
        Lexer lexer = new Lexer(source);
        lexer.run();
        return lexer.tokens;
    }

    private void run() {
        while (pos < src.length()) {
            int start = nextTagStart(pos);
            if (start < 0) {
                emitText(src.substring(pos), line);
                break;
            }
            char kind = src.charAt(start + 1);
            int afterOpen = start + 2;
            char sign = afterOpen < src.length() && (src.charAt(afterOpen) == '-' || src.charAt(afterOpen) == '+')
                    ? src.charAt(afterOpen) : 0;
            String text = src.substring(pos, start);
            int textLine = line;
            line += countNewlines(text);
            emitText(controlLeadingWhitespace(text, kind, sign), textLine);
            pos = afterOpen + (sign != 0 ? 1 : 0);
            if (kind == '#') {
                skipComment();
            } else if (kind == '%' && lexRaw()) {
                continue;
            } else {
                lexTag(kind);
            }
        }
        tokens.add(new Token(Type.EOF, "", null, line));
    }

    private int nextTagStart(int from) {
        int i = src.indexOf('{', from);
        while (i >= 0 && i + 1 < src.length()) {
            char next = src.charAt(i + 1);
            if (next == '{' || next == '%' || next == '#') {
                return i;
            }
            i = src.indexOf('{', i + 1);
        }
        return -1;
    }

    /** '{%-' strips all whitespace before the tag; lstrip_blocks strips the indentation of a block's line. */
    private String controlLeadingWhitespace(String text, char kind, char sign) {
        if (sign == '-') {
            return stripTrailingWhitespace(text);
        }
        if (sign != '+' && kind != '{') {
            int lineStart = text.lastIndexOf('\n') + 1;
            if ((lineStart > 0 || lineStarting) && lineStart < text.length() && isBlank(text, lineStart)) {
                return text.substring(0, lineStart);
            }
        }
        return text;
    }

    private void emitText(String text, int textLine) {
        if (!text.isEmpty()) {
            tokens.add(new Token(Type.TEXT, text, text, textLine));
        }
    }

    private void skipComment() {
        int openLine = line;
        int end = src.indexOf("#}", pos);
        if (end < 0) {
            throw new JinjaException(Kind.SYNTAX, "missing end of comment tag '#}'", openLine);
        }
        line += countNewlines(src.substring(pos, end));
        char before = end > pos ? src.charAt(end - 1) : 0;
        pos = end + 2;
        afterClosingTag(before == '-' ? '-' : before == '+' ? '+' : 0, true);
    }

    /** {@code {% raw %}...{% endraw %}}: the body is text, whatever it holds. */
    private boolean lexRaw() {
        Matcher begin = RAW_BEGIN.matcher(src).region(pos, src.length());
        if (!begin.lookingAt()) {
            return false;
        }
        int openLine = line;
        Matcher end = RAW_END.matcher(src);
        if (!end.find(begin.end())) {
            throw new JinjaException(Kind.SYNTAX, "missing '{% endraw %}' for the raw block", openLine);
        }
        String body = src.substring(begin.end(), end.start());
        if (!begin.group(1).isEmpty()) {
            body = stripLeadingWhitespace(body);
        }
        lineStarting = false;
        char endSign = end.group(1).isEmpty() ? 0 : end.group(1).charAt(0);
        body = controlLeadingWhitespace(body, '%', endSign);
        emitText(body, openLine);
        line += countNewlines(src.substring(pos, end.end()));
        pos = end.end();
        afterClosingTag(end.group(2).isEmpty() ? 0 : end.group(2).charAt(0), true);
        return true;
    }

    private void lexTag(char kind) {
        int openLine = line;
        boolean block = kind == '%';
        String close = block ? "%}" : "}}";
        tokens.add(new Token(block ? Type.BLOCK_BEGIN : Type.VARIABLE_BEGIN, block ? "{%" : "{{", null, openLine));
        int depth = 0; // inside brackets '}}' can close a dict literal, not the tag
        while (true) {
            skipWhitespace();
            if (pos >= src.length()) {
                throw new JinjaException(Kind.SYNTAX, "unexpected end of template: the tag opened here lacks its '"
                        + close + "'", openLine);
            }
            if (depth == 0) {
                if (src.startsWith("-" + close, pos)) {
                    pos += 3;
                    tokens.add(new Token(block ? Type.BLOCK_END : Type.VARIABLE_END, close, null, line));
                    afterClosingTag('-', block);
                    return;
                }
                if (block && src.startsWith("+" + close, pos)) {
                    pos += 3;
                    tokens.add(new Token(Type.BLOCK_END, close, null, line));
                    afterClosingTag('+', true);
                    return;
                }
                if (src.startsWith(close, pos)) {
                    pos += 2;
                    tokens.add(new Token(block ? Type.BLOCK_END : Type.VARIABLE_END, close, null, line));
                    afterClosingTag((char) 0, block);
                    return;
                }
            }
            Token token = expressionToken();
            if (token.is(Type.OPERATOR)) {
                switch (token.text()) {
                    case "(", "[", "{" -> depth++;
                    case ")", "]", "}" -> depth = Math.max(0, depth - 1);
                    default -> { }
                }
            }
            tokens.add(token);
        }
    }

    /** '-' strips all whitespace after a tag; trim_blocks drops the one newline after a block or comment. */
    private void afterClosingTag(char sign, boolean blockOrComment) {
        if (sign == '-') {
            int from = pos;
            skipWhitespace();
            lineStarting = pos > from && src.charAt(pos - 1) == '\n';
        } else if (sign != '+' && blockOrComment && pos < src.length() && src.charAt(pos) == '\n') {
            pos++;
            line++;
            lineStarting = true;
        } else {
            lineStarting = false;
        }
    }

    private Token expressionToken() {
        char c = src.charAt(pos);
        int tokenLine = line;
        if (c == '\'' || c == '"') {
            return stringToken(c, tokenLine);
        }
        if (c >= '0' && c <= '9') {
            return numberToken(tokenLine);
        }
        if (Character.isLetter(c) || c == '_') {
            int start = pos;
            while (pos < src.length() && (Character.isLetterOrDigit(src.charAt(pos)) || src.charAt(pos) == '_')) {
                pos++;
            }
            String name = src.substring(start, pos);
            return new Token(Type.NAME, name, name, tokenLine);
        }
        for (String op : OPERATORS) {
            if (src.startsWith(op, pos)) {
                pos += op.length();
                return new Token(Type.OPERATOR, op, op, tokenLine);
            }
        }
        throw new JinjaException(Kind.SYNTAX, "unexpected character '" + c + "'", tokenLine);
    }

    private Token stringToken(char quote, int tokenLine) {
        int start = pos++;
        while (pos < src.length() && src.charAt(pos) != quote) {
            if (src.charAt(pos) == '\\') {
                pos++;
            }
            if (pos < src.length() && src.charAt(pos) == '\n') {
                line++;
            }
            pos++;
        }
        if (pos >= src.length()) {
            throw new JinjaException(Kind.SYNTAX, "unterminated string literal", tokenLine);
        }
        pos++;
        String raw = src.substring(start + 1, pos - 1);
        return new Token(Type.STRING, src.substring(start, pos), unescape(raw, tokenLine), tokenLine);
    }

    private Token numberToken(int tokenLine) {
        int start = pos;
        digits();
        boolean isFloat = false;
        if (pos + 1 < src.length() && src.charAt(pos) == '.' && Character.isDigit(src.charAt(pos + 1))) {
            pos++;
            digits();
            isFloat = true;
        }
        if (pos < src.length() && (src.charAt(pos) == 'e' || src.charAt(pos) == 'E')) {
            int mark = pos++;
            if (pos < src.length() && (src.charAt(pos) == '+' || src.charAt(pos) == '-')) {
                pos++;
            }
            if (pos < src.length() && Character.isDigit(src.charAt(pos))) {
                digits();
                isFloat = true;
            } else {
                pos = mark;
            }
        }
        String text = src.substring(start, pos);
        String plain = text.replace("_", "");
        if (isFloat) {
            return new Token(Type.FLOAT, text, Double.parseDouble(plain), tokenLine);
        }
        try {
            return new Token(Type.INTEGER, text, Long.parseLong(plain), tokenLine);
        } catch (NumberFormatException e) {
            throw new JinjaException(Kind.SYNTAX, "integer literal too large: " + text, tokenLine);
        }
    }

    private void digits() {
        while (pos < src.length() && (Character.isDigit(src.charAt(pos))
                || (src.charAt(pos) == '_' && pos + 1 < src.length() && Character.isDigit(src.charAt(pos + 1))))) {
            pos++;
        }
    }

    private void skipWhitespace() {
        while (pos < src.length() && Character.isWhitespace(src.charAt(pos))) {
            if (src.charAt(pos) == '\n') {
                line++;
            }
            pos++;
        }
    }

    /** Python's string escapes, as Jinja2 decodes its literals; an unknown escape keeps its backslash. */
    static String unescape(String raw, int tokenLine) {
        if (raw.indexOf('\\') < 0) {
            return raw;
        }
        StringBuilder out = new StringBuilder(raw.length());
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c != '\\' || i + 1 >= raw.length()) {
                out.append(c);
                continue;
            }
            char e = raw.charAt(++i);
            switch (e) {
                case 'n' -> out.append('\n');
                case 't' -> out.append('\t');
                case 'r' -> out.append('\r');
                case '\\' -> out.append('\\');
                case '\'' -> out.append('\'');
                case '"' -> out.append('"');
                case 'a' -> out.append('\u0007');
                case 'b' -> out.append('\b');
                case 'f' -> out.append('\f');
                case 'v' -> out.append('\u000b');
                case '\n' -> { } // a backslash at the end of a line continues it
                case 'x', 'u', 'U' -> {
                    int width = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                    if (i + width >= raw.length()) {
                        throw new JinjaException(Kind.SYNTAX, "truncated \\" + e + " escape in a string", tokenLine);
                    }
                    String hex = raw.substring(i + 1, i + 1 + width);
                    try {
                        out.appendCodePoint(Integer.parseInt(hex, 16));
                    } catch (IllegalArgumentException bad) {
                        throw new JinjaException(Kind.SYNTAX, "bad \\" + e + " escape '" + hex + "' in a string",
                                tokenLine);
                    }
                    i += width;
                }
                default -> {
                    if (e >= '0' && e <= '7') {
                        int end = i;
                        while (end < raw.length() && end < i + 3 && raw.charAt(end) >= '0' && raw.charAt(end) <= '7') {
                            end++;
                        }
                        out.append((char) Integer.parseInt(raw.substring(i, end), 8));
                        i = end - 1;
                    } else {
                        out.append('\\').append(e);
                    }
                }
            }
        }
        return out.toString();
    }

    private static int countNewlines(String s) {
        int n = 0;
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) == '\n') {
                n++;
            }
        }
        return n;
    }

    private static boolean isBlank(String s, int from) {
        for (int i = from; i < s.length(); i++) {
            if (!Character.isWhitespace(s.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    private static String stripTrailingWhitespace(String s) {
        int end = s.length();
        while (end > 0 && Character.isWhitespace(s.charAt(end - 1))) {
            end--;
        }
        return s.substring(0, end);
    }

    private static String stripLeadingWhitespace(String s) {
        int start = 0;
        while (start < s.length() && Character.isWhitespace(s.charAt(start))) {
            start++;
        }
        return s.substring(start);
    }
}
