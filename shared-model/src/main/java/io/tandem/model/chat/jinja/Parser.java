package io.tandem.model.chat.jinja;

import io.tandem.model.chat.jinja.Ast.Binary;
import io.tandem.model.chat.jinja.Ast.Block;
import io.tandem.model.chat.jinja.Ast.Branch;
import io.tandem.model.chat.jinja.Ast.Break;
import io.tandem.model.chat.jinja.Ast.Call;
import io.tandem.model.chat.jinja.Ast.Compare;
import io.tandem.model.chat.jinja.Ast.Conditional;
import io.tandem.model.chat.jinja.Ast.Continue;
import io.tandem.model.chat.jinja.Ast.DictExpr;
import io.tandem.model.chat.jinja.Ast.Expr;
import io.tandem.model.chat.jinja.Ast.Filter;
import io.tandem.model.chat.jinja.Ast.For;
import io.tandem.model.chat.jinja.Ast.GetAttr;
import io.tandem.model.chat.jinja.Ast.GetItem;
import io.tandem.model.chat.jinja.Ast.If;
import io.tandem.model.chat.jinja.Ast.ListExpr;
import io.tandem.model.chat.jinja.Ast.Literal;
import io.tandem.model.chat.jinja.Ast.Macro;
import io.tandem.model.chat.jinja.Ast.Name;
import io.tandem.model.chat.jinja.Ast.Output;
import io.tandem.model.chat.jinja.Ast.Set;
import io.tandem.model.chat.jinja.Ast.SetBlock;
import io.tandem.model.chat.jinja.Ast.Slice;
import io.tandem.model.chat.jinja.Ast.Stmt;
import io.tandem.model.chat.jinja.Ast.Test;
import io.tandem.model.chat.jinja.Ast.Text;
import io.tandem.model.chat.jinja.Ast.TupleExpr;
import io.tandem.model.chat.jinja.Ast.Unary;
import io.tandem.model.chat.jinja.JinjaException.Kind;
import io.tandem.model.chat.jinja.Token.Type;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Recursive descent over the tokens, with Jinja2's grammar and operator precedence (filters and
 * {@code is} tests bind tighter than arithmetic, {@code ~} tighter than {@code +}). Unknown tags, filters
 * and tests fail here, when the template is compiled, not silently when it renders.
 */
final class Parser {

    private static final java.util.Set<String> COMPARISONS = java.util.Set.of("==", "!=", "<", "<=", ">", ">=");

    private final List<Token> tokens;
    private int pos;
    private int loopDepth;
    /** The innermost open block, for error messages. */
    private String openBlock;
    private int openBlockLine;

    private Parser(List<Token> tokens) {
        this.tokens = tokens;
    }

    static List<Stmt> parse(String source) {
        Parser parser = new Parser(Lexer.tokenize(source));
        return parser.subparse(java.util.Set.of());
    }

    // ---- statements ----

    /** Statements up to (not including) a block tag named in endTags, or to the end of the template. */
    private List<Stmt> subparse(java.util.Set<String> endTags) {
        List<Stmt> body = new ArrayList<>();
        while (true) {
            Token t = peek();
            switch (t.type()) {
                case TEXT -> body.add(new Text((String) next().value()));
                case VARIABLE_BEGIN -> {
                    next();
                    Expr expr = parseTuple();
                    expect(Type.VARIABLE_END, "'}}'");
                    body.add(new Output(expr));
                }
                case BLOCK_BEGIN -> {
                    Token name = peekAt(1);
                    if (name.is(Type.NAME) && endTags.contains(name.text())) {
                        return body;
                    }
                    next();
                    body.add(parseStatement(endTags));
                }
                case EOF -> {
                    if (!endTags.isEmpty()) {
                        throw syntax("unexpected end of template: the '" + openBlock + "' block opened at line "
                                + openBlockLine + " is never closed (expected " + describe(endTags) + ")", t.line());
                    }
                    return body;
                }
                default -> throw syntax("unexpected " + t.describe(), t.line());
            }
        }
    }

    private Stmt parseStatement(java.util.Set<String> endTags) {
        Token name = peek();
        if (!name.is(Type.NAME)) {
            throw syntax("expected a tag name after '{%', found " + name.describe(), name.line());
        }
        next();
        String outerBlock = openBlock;
        int outerLine = openBlockLine;
        openBlock = name.text();
        openBlockLine = name.line();
        try {
            return switch (name.text()) {
                case "if" -> parseIf();
                case "for" -> parseFor(name.line());
                case "set" -> parseSet(name.line());
                case "macro" -> parseMacro(name.line());
                case "break", "continue" -> parseLoopControl(name);
                case "generation" -> parseGeneration();
                default -> throw syntax(unknownTag(name.text(), outerBlock, outerLine, endTags), name.line());
            };
        } finally {
            openBlock = outerBlock;
            openBlockLine = outerLine;
        }
    }

    private static String unknownTag(String tag, String outerBlock, int outerLine, java.util.Set<String> endTags) {
        if (outerBlock != null && (tag.startsWith("end") || tag.equals("else") || tag.equals("elif"))) {
            return "unexpected '" + tag + "' inside the '" + outerBlock + "' block opened at line " + outerLine
                    + " (expected " + describe(endTags) + ")";
        }
        if (tag.startsWith("end") || tag.equals("else") || tag.equals("elif")) {
            return "unexpected '" + tag + "': no block is open";
        }
        return "unknown tag '" + tag + "'";
    }

    private Stmt parseIf() {
        List<Branch> branches = new ArrayList<>();
        Expr condition = parseExpression(false);
        expect(Type.BLOCK_END, "'%}'");
        List<Stmt> body = subparse(java.util.Set.of("elif", "else", "endif"));
        branches.add(new Branch(condition, body));
        while (true) {
            String tag = endTag();
            switch (tag) {
                case "elif" -> {
                    Expr elifCondition = parseExpression(false);
                    expect(Type.BLOCK_END, "'%}'");
                    branches.add(new Branch(elifCondition, subparse(java.util.Set.of("elif", "else", "endif"))));
                }
                case "else" -> {
                    expect(Type.BLOCK_END, "'%}'");
                    List<Stmt> otherwise = subparse(java.util.Set.of("endif"));
                    endTag();
                    expect(Type.BLOCK_END, "'%}'");
                    return new If(branches, otherwise);
                }
                default -> {
                    expect(Type.BLOCK_END, "'%}'");
                    return new If(branches, List.of());
                }
            }
        }
    }

    private Stmt parseFor(int line) {
        Expr target = parseAssignTarget(false);
        Token in = next();
        if (!in.isName("in")) {
            throw syntax("expected 'in' in the for tag, found " + in.describe(), in.line());
        }
        Expr iterable = parseTupleWithoutConditional();
        Expr filter = null;
        if (peek().isName("if")) {
            next();
            filter = parseExpression(true);
        }
        if (peek().isName("recursive")) {
            throw syntax("recursive loops are not supported", peek().line());
        }
        expect(Type.BLOCK_END, "'%}'");
        loopDepth++;
        List<Stmt> body = subparse(java.util.Set.of("endfor", "else"));
        loopDepth--;
        List<Stmt> otherwise = List.of();
        if (endTag().equals("else")) {
            expect(Type.BLOCK_END, "'%}'");
            otherwise = subparse(java.util.Set.of("endfor"));
            endTag();
        }
        expect(Type.BLOCK_END, "'%}'");
        return new For(target, iterable, filter, body, otherwise, line);
    }

    private Stmt parseSet(int line) {
        Expr target = parseAssignTarget(true);
        if (peek().isOperator("=")) {
            next();
            Expr value = parseTuple();
            expect(Type.BLOCK_END, "'%}'");
            return new Set(target, value, line);
        }
        if (target instanceof Name name && peek().is(Type.BLOCK_END)) {
            next();
            List<Stmt> body = subparse(java.util.Set.of("endset"));
            endTag();
            expect(Type.BLOCK_END, "'%}'");
            return new SetBlock(name.name(), body);
        }
        throw syntax("expected '=' in the set tag, found " + peek().describe(), peek().line());
    }

    private Stmt parseMacro(int line) {
        Token name = expect(Type.NAME, "a macro name");
        expectOperator("(");
        List<String> parameters = new ArrayList<>();
        List<Expr> defaults = new ArrayList<>();
        parseSeparated(")", () -> {
            parameters.add(expect(Type.NAME, "a parameter name").text());
            if (peek().isOperator("=")) {
                next();
                defaults.add(parseExpression(true));
            } else {
                if (defaults.stream().anyMatch(d -> d != null)) {
                    throw syntax("a parameter without a default follows one with a default", peek().line());
                }
                defaults.add(null);
            }
        });
        expect(Type.BLOCK_END, "'%}'");
        int outerLoops = loopDepth;
        loopDepth = 0;
        List<Stmt> body = subparse(java.util.Set.of("endmacro"));
        loopDepth = outerLoops;
        endTag();
        if (peek().is(Type.NAME)) {
            next();
        }
        expect(Type.BLOCK_END, "'%}'");
        return new Macro(name.text(), List.copyOf(parameters), java.util.Collections.unmodifiableList(defaults),
                body, line);
    }

    private Stmt parseLoopControl(Token name) {
        if (loopDepth == 0) {
            throw syntax("'" + name.text() + "' outside a for loop", name.line());
        }
        expect(Type.BLOCK_END, "'%}'");
        return name.text().equals("break") ? new Break(name.line()) : new Continue(name.line());
    }

    private Stmt parseGeneration() {
        expect(Type.BLOCK_END, "'%}'");
        List<Stmt> body = subparse(java.util.Set.of("endgeneration"));
        endTag();
        expect(Type.BLOCK_END, "'%}'");
        return new Block(body);
    }

    /** Consumes '{%' and the end tag's name (the caller checks what follows); returns the name. */
    private String endTag() {
        expect(Type.BLOCK_BEGIN, "'{%'");
        return expect(Type.NAME, "a tag name").text();
    }

    /** A name, {@code namespace.attribute} (set only), or names separated by commas. */
    private Expr parseAssignTarget(boolean allowAttribute) {
        int line = peek().line();
        List<Expr> names = new ArrayList<>();
        boolean parenthesized = peek().isOperator("(");
        if (parenthesized) {
            next();
        }
        do {
            if (!names.isEmpty()) {
                next(); // the comma
            }
            Token name = expect(Type.NAME, "a variable name");
            if (allowAttribute && names.isEmpty() && peek().isOperator(".")) {
                next();
                Token attribute = expect(Type.NAME, "an attribute name");
                return new GetAttr(new Name(name.text(), name.line()), attribute.text(), name.line());
            }
            names.add(new Name(name.text(), name.line()));
        } while (peek().isOperator(","));
        if (parenthesized) {
            expectOperator(")");
        }
        return names.size() == 1 && !parenthesized ? names.get(0) : new TupleExpr(List.copyOf(names), line);
    }

    // ---- expressions ----

    /** An expression, or several separated by commas (a tuple), as {@code {{ }}} and set accept. */
    private Expr parseTuple() {
        return parseTuple(true);
    }

    /** The iterable of a for loop: an 'if' after it filters the loop, it is no conditional expression. */
    private Expr parseTupleWithoutConditional() {
        return parseTuple(false);
    }

    private Expr parseTuple(boolean allowConditional) {
        int line = peek().line();
        Expr first = parseExpression(allowConditional);
        if (!peek().isOperator(",")) {
            return first;
        }
        List<Expr> items = new ArrayList<>(List.of(first));
        while (peek().isOperator(",")) {
            next();
            if (isTupleEnd()) {
                break;
            }
            items.add(parseExpression(allowConditional));
        }
        return new TupleExpr(List.copyOf(items), line);
    }

    private boolean isTupleEnd() {
        Token t = peek();
        return t.is(Type.VARIABLE_END) || t.is(Type.BLOCK_END) || t.isOperator(")") || t.isName("if")
                || t.is(Type.EOF);
    }

    private Expr parseExpression(boolean withConditional) {
        Expr expr = parseOr();
        if (!withConditional) {
            return expr;
        }
        while (peek().isName("if")) {
            int line = next().line();
            Expr condition = parseOr();
            Expr otherwise = null;
            if (peek().isName("else")) {
                next();
                otherwise = parseExpression(true);
            }
            expr = new Conditional(condition, expr, otherwise, line);
        }
        return expr;
    }

    private Expr parseOr() {
        Expr left = parseAnd();
        while (peek().isName("or")) {
            int line = next().line();
            left = new Binary("or", left, parseAnd(), line);
        }
        return left;
    }

    private Expr parseAnd() {
        Expr left = parseNot();
        while (peek().isName("and")) {
            int line = next().line();
            left = new Binary("and", left, parseNot(), line);
        }
        return left;
    }

    private Expr parseNot() {
        if (peek().isName("not")) {
            int line = next().line();
            return new Unary("not", parseNot(), line);
        }
        return parseCompare();
    }

    private Expr parseCompare() {
        int line = peek().line();
        Expr first = parseMath1();
        List<String> ops = new ArrayList<>();
        List<Expr> operands = new ArrayList<>();
        while (true) {
            Token t = peek();
            if (t.is(Type.OPERATOR) && COMPARISONS.contains(t.text())) {
                next();
                ops.add(t.text());
            } else if (t.isName("in")) {
                next();
                ops.add("in");
            } else if (t.isName("not") && peekAt(1).isName("in")) {
                next();
                next();
                ops.add("not in");
            } else {
                break;
            }
            operands.add(parseMath1());
        }
        return ops.isEmpty() ? first : new Compare(first, List.copyOf(ops), List.copyOf(operands), line);
    }

    private Expr parseMath1() {
        Expr left = parseConcat();
        while (peek().isOperator("+") || peek().isOperator("-")) {
            Token op = next();
            left = new Binary(op.text(), left, parseConcat(), op.line());
        }
        return left;
    }

    private Expr parseConcat() {
        Expr left = parseMath2();
        while (peek().isOperator("~")) {
            int line = next().line();
            left = new Binary("~", left, parseMath2(), line);
        }
        return left;
    }

    private Expr parseMath2() {
        Expr left = parsePow();
        while (peek().isOperator("*") || peek().isOperator("/") || peek().isOperator("//")
                || peek().isOperator("%")) {
            Token op = next();
            left = new Binary(op.text(), left, parsePow(), op.line());
        }
        return left;
    }

    private Expr parsePow() {
        Expr left = parseUnary(true);
        while (peek().isOperator("**")) {
            int line = next().line();
            left = new Binary("**", left, parseUnary(true), line);
        }
        return left;
    }

    private Expr parseUnary(boolean withFilter) {
        Token t = peek();
        Expr node;
        if (t.isOperator("-") || t.isOperator("+")) {
            next();
            node = new Unary(t.text(), parseUnary(false), t.line());
        } else {
            node = parsePrimary();
        }
        node = parsePostfix(node);
        return withFilter ? parseFilterExpression(node) : node;
    }

    private Expr parsePrimary() {
        Token t = next();
        switch (t.type()) {
            case NAME -> {
                return switch (t.text()) {
                    case "true", "True" -> new Literal(Boolean.TRUE, t.line());
                    case "false", "False" -> new Literal(Boolean.FALSE, t.line());
                    case "none", "None" -> new Literal(null, t.line());
                    default -> new Name(t.text(), t.line());
                };
            }
            case STRING -> {
                StringBuilder text = new StringBuilder((String) t.value());
                while (peek().is(Type.STRING)) { // adjacent literals join, as in Python
                    text.append((String) next().value());
                }
                return new Literal(text.toString(), t.line());
            }
            case INTEGER, FLOAT -> {
                return new Literal(t.value(), t.line());
            }
            case OPERATOR -> {
                switch (t.text()) {
                    case "(" -> {
                        if (peek().isOperator(")")) {
                            next();
                            return new TupleExpr(List.of(), t.line());
                        }
                        Expr first = parseExpression(true);
                        if (peek().isOperator(")")) {
                            next();
                            return first;
                        }
                        List<Expr> items = new ArrayList<>(List.of(first));
                        while (peek().isOperator(",")) {
                            next();
                            if (peek().isOperator(")")) {
                                break;
                            }
                            items.add(parseExpression(true));
                        }
                        expectOperator(")");
                        return new TupleExpr(List.copyOf(items), t.line());
                    }
                    case "[" -> {
                        List<Expr> items = new ArrayList<>();
                        parseSeparated("]", () -> items.add(parseExpression(true)));
                        return new ListExpr(List.copyOf(items), t.line());
                    }
                    case "{" -> {
                        List<Expr> keys = new ArrayList<>();
                        List<Expr> values = new ArrayList<>();
                        parseSeparated("}", () -> {
                            keys.add(parseExpression(true));
                            expectOperator(":");
                            values.add(parseExpression(true));
                        });
                        return new DictExpr(List.copyOf(keys), List.copyOf(values), t.line());
                    }
                    default -> {
                    }
                }
            }
            default -> {
            }
        }
        throw syntax("unexpected " + t.describe() + " where a value was expected", t.line());
    }

    private Expr parsePostfix(Expr node) {
        while (true) {
            Token t = peek();
            if (t.isOperator(".") || t.isOperator("[")) {
                node = parseSubscript(node);
            } else if (t.isOperator("(")) {
                node = parseCall(node);
            } else {
                return node;
            }
        }
    }

    private Expr parseFilterExpression(Expr node) {
        while (true) {
            Token t = peek();
            if (t.isOperator("|")) {
                node = parseFilter(node);
            } else if (t.isName("is")) {
                node = parseTest(node);
            } else if (t.isOperator("(")) {
                node = parseCall(node);
            } else {
                return node;
            }
        }
    }

    private Expr parseSubscript(Expr node) {
        Token t = next();
        if (t.isOperator(".")) {
            Token attribute = next();
            if (attribute.is(Type.NAME)) {
                return new GetAttr(node, attribute.text(), attribute.line());
            }
            if (attribute.is(Type.INTEGER)) {
                return new GetItem(node, new Literal(attribute.value(), attribute.line()), attribute.line());
            }
            throw syntax("expected an attribute name after '.', found " + attribute.describe(), attribute.line());
        }
        Expr start = null;
        if (!peek().isOperator(":")) {
            start = parseExpression(true);
            if (peek().isOperator("]")) {
                next();
                return new GetItem(node, start, t.line());
            }
        }
        expectOperator(":");
        Expr stop = null;
        Expr step = null;
        if (!peek().isOperator("]") && !peek().isOperator(":")) {
            stop = parseExpression(true);
        }
        if (peek().isOperator(":")) {
            next();
            if (!peek().isOperator("]")) {
                step = parseExpression(true);
            }
        }
        expectOperator("]");
        return new Slice(node, start, stop, step, t.line());
    }

    private Expr parseCall(Expr callee) {
        int line = peek().line();
        List<Expr> args = new ArrayList<>();
        Map<String, Expr> kwargs = new LinkedHashMap<>();
        parseArguments(args, kwargs);
        return new Call(callee, List.copyOf(args), kwargs, line);
    }

    private void parseArguments(List<Expr> args, Map<String, Expr> kwargs) {
        expectOperator("(");
        parseSeparated(")", () -> {
            if (peek().is(Type.NAME) && peekAt(1).isOperator("=")) {
                String key = next().text();
                next();
                kwargs.put(key, parseExpression(true));
            } else {
                if (!kwargs.isEmpty()) {
                    throw syntax("a positional argument follows a keyword argument", peek().line());
                }
                args.add(parseExpression(true));
            }
        });
    }

    /**
     * Items separated by commas up to {@code close} (a trailing comma allowed), each read by
     * {@code item}; consumes {@code close}. Lists, dicts, call arguments and macro parameters.
     */
    private void parseSeparated(String close, Runnable item) {
        boolean first = true;
        while (!peek().isOperator(close)) {
            if (!first) {
                expectOperator(",");
                if (peek().isOperator(close)) {
                    break;
                }
            }
            first = false;
            item.run();
        }
        expectOperator(close);
    }

    private Expr parseFilter(Expr node) {
        next(); // '|'
        Token name = expect(Type.NAME, "a filter name");
        if (!Builtins.hasFilter(name.text())) {
            throw syntax("no filter named '" + name.text() + "'", name.line());
        }
        List<Expr> args = new ArrayList<>();
        Map<String, Expr> kwargs = new LinkedHashMap<>();
        if (peek().isOperator("(")) {
            parseArguments(args, kwargs);
        }
        return new Filter(node, name.text(), List.copyOf(args), kwargs, name.line());
    }

    private Expr parseTest(Expr node) {
        next(); // 'is'
        boolean negated = false;
        if (peek().isName("not")) {
            next();
            negated = true;
        }
        Token name = expect(Type.NAME, "a test name");
        if (!Builtins.hasTest(name.text())) {
            throw syntax("no test named '" + name.text() + "'", name.line());
        }
        List<Expr> args = new ArrayList<>();
        Token t = peek();
        if (t.isOperator("(")) {
            Map<String, Expr> kwargs = new LinkedHashMap<>();
            parseArguments(args, kwargs);
            if (!kwargs.isEmpty()) {
                throw syntax("tests take no keyword arguments", t.line());
            }
        } else if ((t.is(Type.NAME) && !t.isName("else") && !t.isName("or") && !t.isName("and"))
                || t.is(Type.STRING) || t.is(Type.INTEGER) || t.is(Type.FLOAT)
                || t.isOperator("(") || t.isOperator("[") || t.isOperator("{")) {
            if (t.isName("is")) {
                throw syntax("tests cannot be chained with 'is'", t.line());
            }
            args.add(parsePostfix(parsePrimary()));
        }
        return new Test(node, name.text(), List.copyOf(args), negated, name.line());
    }

    // ---- token stream ----

    private Token peek() {
        return tokens.get(pos);
    }

    private Token peekAt(int ahead) {
        return tokens.get(Math.min(pos + ahead, tokens.size() - 1));
    }

    private Token next() {
        Token t = tokens.get(pos);
        if (pos < tokens.size() - 1) {
            pos++;
        }
        return t;
    }

    private Token expect(Type type, String what) {
        Token t = peek();
        if (!t.is(type)) {
            throw syntax("expected " + what + ", found " + t.describe(), t.line());
        }
        return next();
    }

    private void expectOperator(String op) {
        Token t = peek();
        if (!t.isOperator(op)) {
            throw syntax("expected '" + op + "', found " + t.describe(), t.line());
        }
        next();
    }

    private static String describe(java.util.Set<String> tags) {
        return tags.stream().sorted().map(tag -> "'" + tag + "'").reduce((a, b) -> a + " or " + b).orElse("");
    }

    private static JinjaException syntax(String message, int line) {
        return new JinjaException(Kind.SYNTAX, message, line);
    }
}
