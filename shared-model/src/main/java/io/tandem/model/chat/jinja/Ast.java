package io.tandem.model.chat.jinja;

import java.util.List;
import java.util.Map;

/** The parsed template: statements that write output, expressions that compute values. Immutable. */
final class Ast {

    private Ast() {
    }

    sealed interface Stmt {
    }

    record Text(String text) implements Stmt {
    }

    record Output(Expr expr) implements Stmt {
    }

    record Branch(Expr condition, List<Stmt> body) {
    }

    record If(List<Branch> branches, List<Stmt> otherwise) implements Stmt {
    }

    /** {@code for target in iterable [if filter]}, with an {@code else} body for an empty loop. */
    record For(Expr target, Expr iterable, Expr filter, List<Stmt> body, List<Stmt> otherwise, int line)
            implements Stmt {
    }

    /** {@code set target = value}; the target is a name, a tuple of names, or {@code namespace.attribute}. */
    record Set(Expr target, Expr value, int line) implements Stmt {
    }

    /** {@code set name %}...{% endset}: the rendered body becomes the value. */
    record SetBlock(String name, List<Stmt> body) implements Stmt {
    }

    record Macro(String name, List<String> parameters, List<Expr> defaults, List<Stmt> body, int line)
            implements Stmt {
    }

    record Break(int line) implements Stmt {
    }

    record Continue(int line) implements Stmt {
    }

    /** A body rendered in place: Hugging Face's {@code generation} tag only marks assistant text. */
    record Block(List<Stmt> body) implements Stmt {
    }

    sealed interface Expr {
        int line();
    }

    record Literal(Object value, int line) implements Expr {
    }

    record Name(String name, int line) implements Expr {
    }

    record ListExpr(List<Expr> items, int line) implements Expr {
    }

    record TupleExpr(List<Expr> items, int line) implements Expr {
    }

    record DictExpr(List<Expr> keys, List<Expr> values, int line) implements Expr {
    }

    record GetAttr(Expr object, String name, int line) implements Expr {
    }

    record GetItem(Expr object, Expr key, int line) implements Expr {
    }

    /** {@code object[start:stop:step]}; absent parts are null. */
    record Slice(Expr object, Expr start, Expr stop, Expr step, int line) implements Expr {
    }

    record Call(Expr callee, List<Expr> args, Map<String, Expr> kwargs, int line) implements Expr {
    }

    record Filter(Expr value, String name, List<Expr> args, Map<String, Expr> kwargs, int line) implements Expr {
    }

    record Test(Expr value, String name, List<Expr> args, boolean negated, int line) implements Expr {
    }

    record Unary(String op, Expr operand, int line) implements Expr {
    }

    /** Arithmetic, {@code ~}, {@code and}, {@code or}. */
    record Binary(String op, Expr left, Expr right, int line) implements Expr {
    }

    /** A comparison chain, as in Python: {@code a < b < c} means {@code a < b and b < c}. */
    record Compare(Expr first, List<String> ops, List<Expr> operands, int line) implements Expr {
    }

    /** {@code then if condition else otherwise}; without else the value is undefined when false. */
    record Conditional(Expr condition, Expr then, Expr otherwise, int line) implements Expr {
    }
}
