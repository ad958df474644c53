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
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Walks a parsed template once per render. All state lives in this object and its scopes, so one
 * compiled template serves concurrent requests, each with its own renderer.
 */
final class Renderer {

    /** The most text one render may produce; a prompt is far smaller, a runaway template is not. */
    static final int MAX_OUTPUT_CHARS = 16 * 1024 * 1024;
    private static final int MAX_CALL_DEPTH = 100;
    /** Loop iterations one render may run: a chat template loops over messages and tools, not millions. */
    static final int MAX_LOOP_ITERATIONS = 1_000_000;

    /** Python scoping as Jinja2 applies it: loop bodies and macros get their own, if blocks do not. */
    private static final class Scope {
        private static final Object ABSENT = new Object();
        private final Scope parent;
        private final Map<String, Object> variables = new HashMap<>();

        Scope(Scope parent) {
            this.parent = parent;
        }

        Object lookup(String name) {
            for (Scope s = this; s != null; s = s.parent) {
                Object value = s.variables.getOrDefault(name, ABSENT);
                if (value != ABSENT) {
                    return value;
                }
            }
            return Undefined.named(name);
        }

        void set(String name, Object value) {
            variables.put(name, value);
        }
    }

    /** Leaves a loop body early; no stack trace, it is control flow. */
    private static final class LoopExit extends RuntimeException {
        private final boolean isBreak;

        LoopExit(boolean isBreak) {
            super(null, null, false, false);
            this.isBreak = isBreak;
        }
    }

    private static final LoopExit BREAK = new LoopExit(true);
    private static final LoopExit CONTINUE = new LoopExit(false);

    private int callDepth;
    private int loopIterations;

    String render(List<Stmt> body, Map<String, Object> globals, Map<String, ?> variables) {
        Scope builtins = new Scope(null);
        globals.forEach(builtins::set);
        Scope root = new Scope(builtins);
        variables.forEach((name, value) -> root.set(name, Py.fromJava(value)));
        StringBuilder out = new StringBuilder();
        execute(body, root, out);
        return out.toString();
    }

    private void execute(List<Stmt> body, Scope scope, StringBuilder out) {
        for (Stmt stmt : body) {
            execute(stmt, scope, out);
            if (out.length() > MAX_OUTPUT_CHARS) {
                throw new JinjaException(Kind.RENDER, "the output exceeds " + MAX_OUTPUT_CHARS + " characters", 0);
            }
        }
    }

    private void execute(Stmt stmt, Scope scope, StringBuilder out) {
        switch (stmt) {
            case Text text -> out.append(text.text());
            case Output output -> out.append(Py.str(eval(output.expr(), scope)));
            case If branching -> {
                for (Branch branch : branching.branches()) {
                    if (Py.truthy(eval(branch.condition(), scope))) {
                        execute(branch.body(), scope, out);
                        return;
                    }
                }
                execute(branching.otherwise(), scope, out);
            }
            case For loop -> executeFor(loop, scope, out);
            case Set set -> assign(set.target(), eval(set.value(), scope), scope, set.line());
            case SetBlock set -> {
                StringBuilder captured = new StringBuilder();
                execute(set.body(), scope, captured);
                scope.set(set.name(), captured.toString());
            }
            case Macro macro -> scope.set(macro.name(), macroFunction(macro, scope));
            case Break b -> throw BREAK;
            case Continue c -> throw CONTINUE;
            case Block block -> execute(block.body(), scope, out);
        }
    }

    private void executeFor(For loop, Scope scope, StringBuilder out) {
        List<Object> items;
        try {
            items = Py.iterate(eval(loop.iterable(), scope));
        } catch (PyError e) {
            throw new JinjaException(Kind.RENDER, e.getMessage(), loop.line());
        }
        if (loop.filter() != null) {
            List<Object> kept = new ArrayList<>();
            for (Object item : items) {
                Scope probe = new Scope(scope);
                assign(loop.target(), item, probe, loop.line());
                if (Py.truthy(eval(loop.filter(), probe))) {
                    kept.add(item);
                }
            }
            items = kept;
        }
        if (items.isEmpty()) {
            execute(loop.otherwise(), scope, out);
            return;
        }
        for (int i = 0; i < items.size(); i++) {
            if (++loopIterations > MAX_LOOP_ITERATIONS) {
                throw new JinjaException(Kind.RENDER, "the template ran more than " + MAX_LOOP_ITERATIONS
                        + " loop iterations", loop.line());
            }
            Scope iteration = new Scope(scope);
            assign(loop.target(), items.get(i), iteration, loop.line());
            iteration.set("loop", new LoopContext(items, i));
            try {
                execute(loop.body(), iteration, out);
            } catch (LoopExit exit) {
                if (exit.isBreak) {
                    break;
                }
            }
        }
    }

    private void assign(Expr target, Object value, Scope scope, int line) {
        switch (target) {
            case Name name -> scope.set(name.name(), value);
            case TupleExpr tuple -> {
                List<Object> values;
                try {
                    values = Py.iterate(value);
                } catch (PyError e) {
                    throw new JinjaException(Kind.RENDER, "cannot unpack " + Py.typeName(value), line);
                }
                if (values.size() != tuple.items().size()) {
                    throw new JinjaException(Kind.RENDER, "expected " + tuple.items().size() + " values to unpack, got "
                            + values.size(), line);
                }
                for (int i = 0; i < values.size(); i++) {
                    assign(tuple.items().get(i), values.get(i), scope, line);
                }
            }
            case GetAttr attribute -> {
                Object object = eval(attribute.object(), scope);
                if (!(object instanceof Namespace ns)) {
                    throw new JinjaException(Kind.RENDER, "cannot assign attribute on a " + Py.typeName(object)
                            + " (only on a namespace())", line);
                }
                ns.attributes.put(attribute.name(), value);
            }
            default -> throw new JinjaException(Kind.RENDER, "cannot assign to this expression", line);
        }
    }

    private PyCallable macroFunction(Macro macro, Scope closure) {
        return (args, kwargs) -> {
            if (args.size() > macro.parameters().size()) {
                throw new PyError("macro '" + macro.name() + "' takes not more than " + macro.parameters().size()
                        + " argument(s)");
            }
            if (++callDepth > MAX_CALL_DEPTH) {
                callDepth = 0;
                throw new PyError("macro calls nest deeper than " + MAX_CALL_DEPTH);
            }
            try {
                Scope local = new Scope(closure);
                for (String key : kwargs.keySet()) {
                    if (!macro.parameters().contains(key)) {
                        throw new PyError("macro '" + macro.name() + "' takes no keyword argument '" + key + "'");
                    }
                }
                for (int i = 0; i < macro.parameters().size(); i++) {
                    String parameter = macro.parameters().get(i);
                    Object value;
                    if (i < args.size()) {
                        value = args.get(i);
                    } else if (kwargs.containsKey(parameter)) {
                        value = kwargs.get(parameter);
                    } else if (macro.defaults().get(i) != null) {
                        value = eval(macro.defaults().get(i), local);
                    } else {
                        value = Undefined.named(parameter);
                    }
                    local.set(parameter, value);
                }
                StringBuilder out = new StringBuilder();
                execute(macro.body(), local, out);
                return out.toString();
            } finally {
                callDepth = Math.max(0, callDepth - 1);
            }
        };
    }

    // ---- expressions ----

    private Object eval(Expr expr, Scope scope) {
        try {
            return evaluate(expr, scope);
        } catch (PyError e) {
            throw new JinjaException(e instanceof PyError.Raised ? Kind.RAISED : Kind.RENDER, e.getMessage(),
                    expr.line());
        }
    }

    private Object evaluate(Expr expr, Scope scope) {
        return switch (expr) {
            case Literal literal -> literal.value();
            case Name name -> scope.lookup(name.name());
            case ListExpr list -> evalAll(list.items(), scope);
            case TupleExpr tuple -> PyTuple.of(evalAll(tuple.items(), scope));
            case DictExpr dict -> {
                Map<Object, Object> map = new LinkedHashMap<>();
                for (int i = 0; i < dict.keys().size(); i++) {
                    map.put(eval(dict.keys().get(i), scope), eval(dict.values().get(i), scope));
                }
                yield Collections.unmodifiableMap(map);
            }
            case GetAttr attribute -> Py.getAttr(eval(attribute.object(), scope), attribute.name());
            case GetItem item -> Py.getItem(eval(item.object(), scope), eval(item.key(), scope));
            case Slice slice -> Py.slice(eval(slice.object(), scope), optional(slice.start(), scope),
                    optional(slice.stop(), scope), optional(slice.step(), scope));
            case Call call -> {
                Object callee = eval(call.callee(), scope);
                List<Object> args = evalAll(call.args(), scope);
                Map<String, Object> kwargs = evalKeywords(call.kwargs(), scope);
                if (callee instanceof PyCallable function) {
                    yield function.call(args, kwargs);
                }
                if (callee instanceof Undefined undefined) {
                    throw undefined.error();
                }
                throw new PyError("'" + Py.typeName(callee) + "' object is not callable");
            }
            case Filter filter -> Builtins.filter(filter.name(), eval(filter.value(), scope),
                    evalAll(filter.args(), scope), evalKeywords(filter.kwargs(), scope));
            case Test test -> Builtins.test(test.name(), eval(test.value(), scope), evalAll(test.args(), scope))
                    != test.negated();
            case Unary unary -> switch (unary.op()) {
                case "not" -> !Py.truthy(eval(unary.operand(), scope));
                case "-" -> Py.negate(eval(unary.operand(), scope));
                default -> {
                    Object value = eval(unary.operand(), scope);
                    if (!Py.isNumber(value)) {
                        throw new PyError("bad operand type for unary +: '" + Py.typeName(value) + "'");
                    }
                    yield value;
                }
            };
            case Binary binary -> switch (binary.op()) {
                case "and" -> {
                    Object left = eval(binary.left(), scope);
                    yield Py.truthy(left) ? eval(binary.right(), scope) : left;
                }
                case "or" -> {
                    Object left = eval(binary.left(), scope);
                    yield Py.truthy(left) ? left : eval(binary.right(), scope);
                }
                case "~" -> Py.str(eval(binary.left(), scope)) + Py.str(eval(binary.right(), scope));
                default -> Py.binary(binary.op(), eval(binary.left(), scope), eval(binary.right(), scope));
            };
            case Compare compare -> {
                Object left = eval(compare.first(), scope);
                for (int i = 0; i < compare.ops().size(); i++) {
                    Object right = eval(compare.operands().get(i), scope);
                    if (!compare(compare.ops().get(i), left, right)) {
                        yield false;
                    }
                    left = right;
                }
                yield true;
            }
            case Conditional conditional -> {
                if (Py.truthy(eval(conditional.condition(), scope))) {
                    yield eval(conditional.then(), scope);
                }
                yield conditional.otherwise() == null
                        ? Undefined.because("the conditional expression had no else and its condition was false")
                        : eval(conditional.otherwise(), scope);
            }
        };
    }

    private static boolean compare(String op, Object left, Object right) {
        return switch (op) {
            case "==" -> Py.eq(left, right);
            case "!=" -> !Py.eq(left, right);
            case "in" -> Py.contains(right, left);
            case "not in" -> !Py.contains(right, left);
            case "<" -> Py.compare(left, right, op) < 0;
            case "<=" -> Py.compare(left, right, op) <= 0;
            case ">" -> Py.compare(left, right, op) > 0;
            case ">=" -> Py.compare(left, right, op) >= 0;
            default -> throw new IllegalStateException("unknown comparison " + op);
        };
    }

    private Object optional(Expr expr, Scope scope) {
        return expr == null ? null : eval(expr, scope);
    }

    private List<Object> evalAll(List<Expr> exprs, Scope scope) {
        List<Object> values = new ArrayList<>(exprs.size());
        for (Expr e : exprs) {
            values.add(eval(e, scope));
        }
        return Collections.unmodifiableList(values);
    }

    private Map<String, Object> evalKeywords(Map<String, Expr> exprs, Scope scope) {
        if (exprs.isEmpty()) {
            return Map.of();
        }
        Map<String, Object> values = new LinkedHashMap<>();
        exprs.forEach((key, e) -> values.put(key, eval(e, scope)));
        return values;
    }
}
