package io.tandem.model.chat.jinja;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Python value semantics over plain Java objects, which is what chat templates are written against:
 * None is {@code null}, int is {@link Long}, float is {@link Double}, str is {@link String}, list and
 * tuple are {@link List}, dict is {@link Map}. Truthiness, {@code str()}, equality, ordering, arithmetic,
 * indexing and slicing behave as in Python, so a template renders what transformers renders.
 */
final class Py {

    /** A cap on strings and lists a template builds by repetition, so a hostile template cannot exhaust memory. */
    static final long MAX_SEQUENCE = 10_000_000;

    private Py() {
    }

    /** Converts a caller's value (Integer, Float, arrays, any Map or Collection) into the types above. */
    static Object fromJava(Object value) {
        if (value == null || value instanceof String || value instanceof Boolean || value instanceof Long
                || value instanceof Double || value instanceof Undefined) {
            return value;
        }
        if (value instanceof CharSequence || value instanceof Character) {
            return value.toString();
        }
        if (value instanceof Integer || value instanceof Short || value instanceof Byte) {
            return ((Number) value).longValue();
        }
        if (value instanceof Float) {
            return ((Float) value).doubleValue();
        }
        if (value instanceof BigInteger big) {
            return big.longValueExact();
        }
        if (value instanceof BigDecimal big) {
            return big.doubleValue();
        }
        if (value instanceof Enum<?> e) {
            return e.name();
        }
        if (value instanceof Map<?, ?> map) {
            Map<Object, Object> copy = new LinkedHashMap<>();
            map.forEach((k, v) -> copy.put(fromJava(k), fromJava(v)));
            return Collections.unmodifiableMap(copy);
        }
        if (value instanceof Collection<?> collection) {
            List<Object> copy = new ArrayList<>(collection.size());
            collection.forEach(v -> copy.add(fromJava(v)));
            return Collections.unmodifiableList(copy);
        }
        if (value instanceof Object[] array) {
            return fromJava(java.util.Arrays.asList(array));
        }
        throw new IllegalArgumentException("a template cannot use a value of type " + value.getClass().getName());
    }

    static boolean truthy(Object v) {
        if (v == null || v instanceof Undefined) {
            return false;
        }
        if (v instanceof Boolean b) {
            return b;
        }
        if (v instanceof Long l) {
            return l != 0;
        }
        if (v instanceof Double d) {
            return d != 0.0;
        }
        if (v instanceof String s) {
            return !s.isEmpty();
        }
        if (v instanceof List<?> l) {
            return !l.isEmpty();
        }
        if (v instanceof Map<?, ?> m) {
            return !m.isEmpty();
        }
        return true;
    }

    static String typeName(Object v) {
        return switch (v) {
            case null -> "NoneType";
            case Undefined u -> "Undefined";
            case Boolean b -> "bool";
            case Long l -> "int";
            case Double d -> "float";
            case String s -> "str";
            case PyTuple t -> "tuple";
            case List<?> l -> "list";
            case Map<?, ?> m -> "dict";
            case Namespace n -> "Namespace";
            case PyCallable c -> "function";
            default -> v.getClass().getSimpleName();
        };
    }

    /** Python's {@code str()}: what {@code {{ value }}} prints. */
    static String str(Object v) {
        if (v instanceof String s) {
            return s;
        }
        if (v == null) {
            return "None";
        }
        if (v instanceof Undefined) {
            return "";
        }
        if (v instanceof Boolean b) {
            return b ? "True" : "False";
        }
        if (v instanceof Double d) {
            return formatFloat(d);
        }
        if (v instanceof List<?> || v instanceof Map<?, ?>) {
            return repr(v);
        }
        if (v instanceof PyCallable) {
            return "<function>";
        }
        return v.toString();
    }

    /** Python's {@code repr()}, used for the items of printed lists and dicts. */
    static String repr(Object v) {
        if (v instanceof String s) {
            return reprString(s);
        }
        if (v instanceof PyTuple tuple) {
            StringBuilder out = new StringBuilder("(");
            for (int i = 0; i < tuple.size(); i++) {
                if (i > 0) {
                    out.append(", ");
                }
                out.append(repr(tuple.get(i)));
            }
            return out.append(tuple.size() == 1 ? ",)" : ")").toString();
        }
        if (v instanceof List<?> list) {
            StringBuilder out = new StringBuilder("[");
            for (int i = 0; i < list.size(); i++) {
                if (i > 0) {
                    out.append(", ");
                }
                out.append(repr(list.get(i)));
            }
            return out.append(']').toString();
        }
        if (v instanceof Map<?, ?> map) {
            StringBuilder out = new StringBuilder("{");
            boolean first = true;
            for (Map.Entry<?, ?> e : map.entrySet()) {
                if (!first) {
                    out.append(", ");
                }
                first = false;
                out.append(repr(e.getKey())).append(": ").append(repr(e.getValue()));
            }
            return out.append('}').toString();
        }
        return str(v);
    }

    private static String reprString(String s) {
        char quote = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        StringBuilder out = new StringBuilder(s.length() + 2).append(quote);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c == quote) {
                        out.append('\\').append(c);
                    } else if (c < 0x20 || c == 0x7f) {
                        out.append(String.format("\\x%02x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append(quote).toString();
    }

    /** Python's float repr: the shortest digits that round-trip, in fixed notation from 1e-4 up to 1e16. */
    static String formatFloat(double d) {
        if (Double.isNaN(d)) {
            return "nan";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "inf" : "-inf";
        }
        if (d == 0) {
            return (1 / d < 0) ? "-0.0" : "0.0";
        }
        BigDecimal exact = new BigDecimal(Double.toString(Math.abs(d))).stripTrailingZeros();
        String digits = exact.unscaledValue().toString();
        int pointAt = digits.length() - exact.scale(); // value = 0.digits * 10^pointAt
        StringBuilder out = new StringBuilder(d < 0 ? "-" : "");
        if (pointAt > -4 && pointAt <= 16) {
            if (pointAt <= 0) {
                out.append("0.").append("0".repeat(-pointAt)).append(digits);
            } else if (pointAt >= digits.length()) {
                out.append(digits).append("0".repeat(pointAt - digits.length())).append(".0");
            } else {
                out.append(digits, 0, pointAt).append('.').append(digits.substring(pointAt));
            }
        } else {
            int exponent = pointAt - 1;
            out.append(digits.charAt(0));
            if (digits.length() > 1) {
                out.append('.').append(digits.substring(1));
            }
            out.append('e').append(exponent < 0 ? '-' : '+');
            String e = Integer.toString(Math.abs(exponent));
            out.append(e.length() < 2 ? "0" + e : e);
        }
        return out.toString();
    }

    // ---- equality and ordering ----

    static boolean eq(Object a, Object b) {
        if (a == null || b == null) {
            return a == b;
        }
        if (a instanceof Undefined || b instanceof Undefined) {
            return a instanceof Undefined && b instanceof Undefined;
        }
        if (isNumber(a) && isNumber(b)) {
            if (a instanceof Double || b instanceof Double) {
                return toDouble(a) == toDouble(b);
            }
            return toLong(a) == toLong(b);
        }
        if (a instanceof List<?> x && b instanceof List<?> y) {
            if (x.size() != y.size()) {
                return false;
            }
            for (int i = 0; i < x.size(); i++) {
                if (!eq(x.get(i), y.get(i))) {
                    return false;
                }
            }
            return true;
        }
        if (a instanceof Map<?, ?> x && b instanceof Map<?, ?> y) {
            if (x.size() != y.size()) {
                return false;
            }
            for (Map.Entry<?, ?> e : x.entrySet()) {
                if (!y.containsKey(e.getKey()) || !eq(e.getValue(), y.get(e.getKey()))) {
                    return false;
                }
            }
            return true;
        }
        return a.equals(b);
    }

    static int compare(Object a, Object b, String op) {
        if (isNumber(a) && isNumber(b)) {
            if (a instanceof Double || b instanceof Double) {
                return Double.compare(toDouble(a), toDouble(b));
            }
            return Long.compare(toLong(a), toLong(b));
        }
        if (a instanceof String x && b instanceof String y) {
            return x.compareTo(y);
        }
        if (a instanceof List<?> x && b instanceof List<?> y) {
            for (int i = 0; i < Math.min(x.size(), y.size()); i++) {
                if (!eq(x.get(i), y.get(i))) {
                    return compare(x.get(i), y.get(i), op);
                }
            }
            return Integer.compare(x.size(), y.size());
        }
        if (a instanceof Undefined u) {
            throw u.error();
        }
        if (b instanceof Undefined u) {
            throw u.error();
        }
        throw new PyError("'" + op + "' not supported between instances of '" + typeName(a) + "' and '"
                + typeName(b) + "'");
    }

    /** Python's {@code item in container}. */
    static boolean contains(Object container, Object item) {
        if (container instanceof String s) {
            if (!(item instanceof String sub)) {
                throw new PyError("'in <string>' requires string as left operand, not " + typeName(item));
            }
            return s.contains(sub);
        }
        if (container instanceof List<?> list) {
            for (Object o : list) {
                if (eq(o, item)) {
                    return true;
                }
            }
            return false;
        }
        if (container instanceof Map<?, ?> map) {
            if (map.containsKey(item)) {
                return true;
            }
            for (Object key : map.keySet()) {
                if (eq(key, item)) {
                    return true;
                }
            }
            return false;
        }
        if (container instanceof Undefined) {
            return false; // iterating an undefined value yields nothing
        }
        throw new PyError("argument of type '" + typeName(container) + "' is not iterable");
    }

    // ---- sequences ----

    /** The items a for loop visits: list items, a string's characters, a dict's keys. */
    static List<Object> iterate(Object v) {
        if (v instanceof List<?> list) {
            @SuppressWarnings("unchecked")
            List<Object> items = (List<Object>) list;
            return items;
        }
        if (v instanceof Map<?, ?> map) {
            return new ArrayList<>(map.keySet());
        }
        if (v instanceof String s) {
            List<Object> chars = new ArrayList<>(s.length());
            s.codePoints().forEach(cp -> chars.add(new String(Character.toChars(cp))));
            return chars;
        }
        if (v instanceof Undefined) {
            return List.of();
        }
        throw new PyError("'" + typeName(v) + "' object is not iterable");
    }

    static long length(Object v) {
        if (v instanceof String s) {
            return s.codePointCount(0, s.length());
        }
        if (v instanceof List<?> list) {
            return list.size();
        }
        if (v instanceof Map<?, ?> map) {
            return map.size();
        }
        if (v instanceof Undefined) {
            return 0;
        }
        throw new PyError("object of type '" + typeName(v) + "' has no len()");
    }

    /**
     * {@code obj.name}: as Jinja2's getattr, a method or attribute first, then the dict key; a missing one
     * is undefined, an undefined object is an error.
     */
    static Object getAttr(Object obj, String name) {
        if (obj instanceof Undefined u) {
            throw u.error();
        }
        if (obj instanceof Map<?, ?> map) {
            PyCallable method = Builtins.dictMethod(map, name);
            if (method != null) {
                return method;
            }
            return map.containsKey(name) ? map.get(name)
                    : Undefined.because("'dict object' has no attribute '" + name + "'");
        }
        if (obj instanceof Namespace ns) {
            return ns.attributes.containsKey(name) ? ns.attributes.get(name)
                    : Undefined.because("'Namespace' has no attribute '" + name + "'");
        }
        if (obj instanceof LoopContext loop) {
            return loop.attribute(name);
        }
        if (obj instanceof String s) {
            PyCallable method = Builtins.stringMethod(s, name);
            if (method != null) {
                return method;
            }
        }
        return Undefined.because("'" + typeName(obj) + " object' has no attribute '" + name + "'");
    }

    /** {@code obj[key]}: as Jinja2's getitem, the item first, then an attribute of that name. */
    static Object getItem(Object obj, Object key) {
        if (obj instanceof Undefined u) {
            throw u.error();
        }
        if (obj instanceof Map<?, ?> map) {
            if (map.containsKey(key)) {
                return map.get(key);
            }
            for (Map.Entry<?, ?> e : map.entrySet()) { // 1 and 1.0 are the same key in Python
                if (isNumber(key) && eq(e.getKey(), key)) {
                    return e.getValue();
                }
            }
        } else if (obj instanceof List<?> list && isInteger(key)) {
            long index = toLong(key);
            if (index < 0) {
                index += list.size();
            }
            return index >= 0 && index < list.size() ? list.get((int) index)
                    : Undefined.because("list index " + key + " out of range");
        } else if (obj instanceof String s && isInteger(key)) {
            int[] cps = s.codePoints().toArray();
            long index = toLong(key);
            if (index < 0) {
                index += cps.length;
            }
            return index >= 0 && index < cps.length ? new String(Character.toChars(cps[(int) index]))
                    : Undefined.because("string index " + key + " out of range");
        }
        if (key instanceof String name) {
            return getAttr(obj, name);
        }
        return Undefined.because("'" + typeName(obj) + " object' has no element " + repr(key));
    }

    /** {@code obj[start:stop:step]} with Python's clamping and negative indices. */
    static Object slice(Object obj, Object start, Object stop, Object step) {
        if (obj instanceof Undefined u) {
            throw u.error();
        }
        long stepValue = step == null || step instanceof Undefined ? 1 : requireInteger(step, "slice step");
        if (stepValue == 0) {
            throw new PyError("slice step cannot be zero");
        }
        List<?> items;
        int[] cps = null;
        if (obj instanceof List<?> list) {
            items = list;
        } else if (obj instanceof String s) {
            cps = s.codePoints().toArray();
            items = null;
        } else {
            throw new PyError("'" + typeName(obj) + "' object is not subscriptable");
        }
        int length = items != null ? items.size() : cps.length;
        long lo;
        long hi;
        if (stepValue > 0) {
            lo = clampIndex(start, 0, length, 0, length);
            hi = clampIndex(stop, length, length, 0, length);
        } else {
            lo = clampIndex(start, length - 1, length, -1, length - 1);
            hi = clampIndex(stop, -1, length, -1, length - 1);
        }
        List<Object> picked = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        for (long i = lo; stepValue > 0 ? i < hi : i > hi; i += stepValue) {
            if (items != null) {
                picked.add(items.get((int) i));
            } else {
                text.appendCodePoint(cps[(int) i]);
            }
        }
        return items != null ? Collections.unmodifiableList(picked) : text.toString();
    }

    private static long clampIndex(Object index, long absent, int length, long min, long max) {
        if (index == null || index instanceof Undefined) {
            return absent;
        }
        long i = requireInteger(index, "slice index");
        if (i < 0) {
            i += length;
        }
        return Math.max(min, Math.min(max, i));
    }

    // ---- arithmetic ----

    static Object binary(String op, Object a, Object b) {
        if (a instanceof Undefined u) {
            throw u.error();
        }
        if (b instanceof Undefined u) {
            throw u.error();
        }
        return switch (op) {
            case "+" -> add(a, b);
            case "-" -> numeric(op, a, b);
            case "*" -> multiply(a, b);
            case "/" -> {
                requireNumbers(op, a, b);
                if (toDouble(b) == 0) {
                    throw new PyError("division by zero");
                }
                yield toDouble(a) / toDouble(b);
            }
            case "//", "%" -> {
                if (op.equals("%") && a instanceof String format) {
                    yield Builtins.percentFormat(format, b);
                }
                yield numeric(op, a, b);
            }
            case "**" -> numeric(op, a, b);
            default -> throw new IllegalStateException("unknown operator " + op);
        };
    }

    private static Object add(Object a, Object b) {
        if (a instanceof String x && b instanceof String y) {
            checkSize((long) x.length() + y.length());
            return x + y;
        }
        if (a instanceof List<?> x && b instanceof List<?> y) {
            List<Object> joined = new ArrayList<>(x);
            joined.addAll(y);
            return Collections.unmodifiableList(joined);
        }
        return numeric("+", a, b);
    }

    private static Object multiply(Object a, Object b) {
        if (a instanceof String s && isInteger(b)) {
            long times = Math.max(0, toLong(b));
            checkSize(times * s.length());
            return s.repeat((int) times);
        }
        if (isInteger(a) && b instanceof String) {
            return multiply(b, a);
        }
        if (a instanceof List<?> list && isInteger(b)) {
            long times = Math.max(0, toLong(b));
            checkSize(times * list.size());
            List<Object> repeated = new ArrayList<>();
            for (long i = 0; i < times; i++) {
                repeated.addAll(list);
            }
            return Collections.unmodifiableList(repeated);
        }
        return numeric("*", a, b);
    }

    private static Object numeric(String op, Object a, Object b) {
        requireNumbers(op, a, b);
        if (a instanceof Double || b instanceof Double || (op.equals("**") && toLong(b) < 0)) {
            double x = toDouble(a);
            double y = toDouble(b);
            return switch (op) {
                case "+" -> x + y;
                case "-" -> x - y;
                case "*" -> x * y;
                case "**" -> Math.pow(x, y);
                case "//" -> {
                    if (y == 0) {
                        throw new PyError("float floor division by zero");
                    }
                    yield Math.floor(x / y);
                }
                case "%" -> {
                    if (y == 0) {
                        throw new PyError("float modulo");
                    }
                    double r = x % y;
                    yield (r != 0 && (r < 0) != (y < 0)) ? r + y : r;
                }
                default -> throw new IllegalStateException(op);
            };
        }
        long x = toLong(a);
        long y = toLong(b);
        try {
            return switch (op) {
                case "+" -> Math.addExact(x, y);
                case "-" -> Math.subtractExact(x, y);
                case "*" -> Math.multiplyExact(x, y);
                case "//" -> {
                    if (y == 0) {
                        throw new PyError("integer division or modulo by zero");
                    }
                    yield Math.floorDiv(x, y);
                }
                case "%" -> {
                    if (y == 0) {
                        throw new PyError("integer division or modulo by zero");
                    }
                    yield Math.floorMod(x, y);
                }
                case "**" -> {
                    long result = 1;
                    for (long i = 0; i < y; i++) {
                        result = Math.multiplyExact(result, x);
                    }
                    yield result;
                }
                default -> throw new IllegalStateException(op);
            };
        } catch (ArithmeticException overflow) {
            throw new PyError("integer overflow in '" + op + "'");
        }
    }

    static Object negate(Object v) {
        if (v instanceof Undefined u) {
            throw u.error();
        }
        if (v instanceof Double d) {
            return -d;
        }
        if (isNumber(v)) {
            return -toLong(v);
        }
        throw new PyError("bad operand type for unary -: '" + typeName(v) + "'");
    }

    private static void requireNumbers(String op, Object a, Object b) {
        if (!isNumber(a) || !isNumber(b)) {
            throw new PyError("unsupported operand type(s) for " + op + ": '" + typeName(a) + "' and '"
                    + typeName(b) + "'");
        }
    }

    static void checkSize(long size) {
        if (size > MAX_SEQUENCE) {
            throw new PyError("result too large (" + size + " items; the limit is " + MAX_SEQUENCE + ")");
        }
    }

    static boolean isNumber(Object v) {
        return v instanceof Long || v instanceof Double || v instanceof Boolean;
    }

    static boolean isInteger(Object v) {
        return v instanceof Long || v instanceof Boolean;
    }

    static long toLong(Object v) {
        if (v instanceof Boolean b) {
            return b ? 1 : 0;
        }
        if (v instanceof Double d) {
            return d.longValue();
        }
        return (Long) v;
    }

    static double toDouble(Object v) {
        if (v instanceof Boolean b) {
            return b ? 1 : 0;
        }
        return ((Number) v).doubleValue();
    }

    static long requireInteger(Object v, String what) {
        if (!isInteger(v)) {
            throw new PyError(what + " must be an integer, not '" + typeName(v) + "'");
        }
        return toLong(v);
    }
}
