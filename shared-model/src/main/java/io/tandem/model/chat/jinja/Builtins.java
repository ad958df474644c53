package io.tandem.model.chat.jinja;

import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The filters, tests, global functions and Python methods chat templates use: Jinja2's built-ins that
 * make sense without HTML, the globals transformers adds ({@code raise_exception}, {@code strftime_now},
 * its {@code tojson}), and the {@code str} and {@code dict} methods templates call ({@code .strip()},
 * {@code .startswith()}, {@code .split()}, {@code .items()}...). Nothing here reaches Java reflection: a
 * template from a model file can only do what is listed.
 */
final class Builtins {

    /** Jinja2's sandbox limit on {@code range()}. */
    static final int MAX_RANGE = 100_000;

    @FunctionalInterface
    interface FilterFn {
        Object apply(Object value, Args args);
    }

    @FunctionalInterface
    interface TestFn {
        boolean test(Object value, List<Object> args);
    }

    private static final Map<String, FilterFn> FILTERS = new HashMap<>();
    private static final Map<String, TestFn> TESTS = new HashMap<>();

    private Builtins() {
    }

    static boolean hasFilter(String name) {
        return FILTERS.containsKey(name);
    }

    static boolean hasTest(String name) {
        return TESTS.containsKey(name);
    }

    static Object filter(String name, Object value, List<Object> args, Map<String, Object> kwargs) {
        return FILTERS.get(name).apply(value, new Args("filter '" + name + "'", args, kwargs));
    }

    static boolean test(String name, Object value, List<Object> args) {
        return TESTS.get(name).test(value, args);
    }

    /** Positional-or-keyword arguments of a filter, function or method, as Python binds them. */
    static final class Args {
        private final String owner;
        final List<Object> positional;
        final Map<String, Object> keywords;

        Args(String owner, List<Object> positional, Map<String, Object> keywords) {
            this.owner = owner;
            this.positional = positional;
            this.keywords = keywords;
        }

        Object get(int index, String name, Object fallback) {
            if (index < positional.size()) {
                return positional.get(index);
            }
            return keywords.containsKey(name) ? keywords.get(name) : fallback;
        }

        Object require(int index, String name) {
            Object v = get(index, name, MISSING);
            if (v == MISSING) {
                throw new PyError(owner + " needs the argument '" + name + "'");
            }
            return v;
        }

        /** Rejects arguments the callee does not take, as Python would. */
        Args accept(int maxPositional, String... names) {
            if (positional.size() > maxPositional) {
                throw new PyError(owner + " takes at most " + maxPositional + " argument(s), got " + positional.size());
            }
            for (String key : keywords.keySet()) {
                if (!List.of(names).contains(key)) {
                    throw new PyError(owner + " got an unexpected keyword argument '" + key + "'");
                }
            }
            return this;
        }
    }

    private static final Object MISSING = new Object();

    // ---- global functions ----

    /** The functions every template sees; {@code strftime_now} reads the renderer's clock. */
    static Map<String, Object> globals(Supplier<ZonedDateTime> now) {
        Map<String, Object> globals = new HashMap<>();
        globals.put("raise_exception", (PyCallable) (args, kwargs) -> {
            Object message = new Args("raise_exception()", args, kwargs).accept(1, "message").get(0, "message", "");
            throw new PyError.Raised(Py.str(message));
        });
        globals.put("namespace", (PyCallable) (args, kwargs) -> {
            Namespace ns = new Namespace();
            for (Object initial : args) {
                if (!(initial instanceof Map<?, ?> map)) {
                    throw new PyError("namespace() takes a dict or keyword arguments, not " + Py.typeName(initial));
                }
                map.forEach((k, v) -> ns.attributes.put(Py.str(k), v));
            }
            ns.attributes.putAll(kwargs);
            return ns;
        });
        globals.put("range", (PyCallable) (args, kwargs) -> range(args));
        globals.put("dict", (PyCallable) (args, kwargs) -> {
            Map<Object, Object> dict = new LinkedHashMap<>();
            for (Object initial : args) {
                if (!(initial instanceof Map<?, ?> map)) {
                    throw new PyError("dict() takes a dict or keyword arguments, not " + Py.typeName(initial));
                }
                dict.putAll(map);
            }
            dict.putAll(kwargs);
            return Collections.unmodifiableMap(dict);
        });
        globals.put("joiner", (PyCallable) (args, kwargs) -> {
            String separator = Py.str(new Args("joiner()", args, kwargs).accept(1, "sep").get(0, "sep", ", "));
            boolean[] used = {false};
            return (PyCallable) (a, k) -> {
                if (!used[0]) {
                    used[0] = true;
                    return "";
                }
                return separator;
            };
        });
        globals.put("strftime_now", (PyCallable) (args, kwargs) -> {
            Object format = new Args("strftime_now()", args, kwargs).accept(1, "format").require(0, "format");
            return strftime(now.get(), Py.str(format));
        });
        return globals;
    }

    private static List<Object> range(List<Object> args) {
        long start = 0;
        long stop;
        long step = 1;
        switch (args.size()) {
            case 1 -> stop = Py.requireInteger(args.get(0), "range() argument");
            case 2, 3 -> {
                start = Py.requireInteger(args.get(0), "range() argument");
                stop = Py.requireInteger(args.get(1), "range() argument");
                if (args.size() == 3) {
                    step = Py.requireInteger(args.get(2), "range() step");
                }
            }
            default -> throw new PyError("range() takes 1 to 3 arguments, got " + args.size());
        }
        if (step == 0) {
            throw new PyError("range() step must not be zero");
        }
        List<Object> values = new ArrayList<>();
        for (long i = start; step > 0 ? i < stop : i > stop; i += step) {
            if (values.size() >= MAX_RANGE) {
                throw new PyError("range() is limited to " + MAX_RANGE + " items");
            }
            values.add(i);
        }
        return Collections.unmodifiableList(values);
    }

    /** Python's {@code time.strftime} for the directives templates use to print a date. */
    static String strftime(ZonedDateTime t, String format) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 >= format.length()) {
                out.append(c);
                continue;
            }
            char d = format.charAt(++i);
            boolean unpadded = d == '-' && i + 1 < format.length(); // glibc's %-d
            if (unpadded) {
                d = format.charAt(++i);
            }
            String pad2 = unpadded ? "%d" : "%02d";
            switch (d) {
                case 'a' -> out.append(t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'A' -> out.append(t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'b', 'h' -> out.append(t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'B' -> out.append(t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'd' -> out.append(String.format(pad2, t.getDayOfMonth()));
                case 'e' -> out.append(String.format("%2d", t.getDayOfMonth()));
                case 'm' -> out.append(String.format(pad2, t.getMonthValue()));
                case 'y' -> out.append(String.format("%02d", t.getYear() % 100));
                case 'Y' -> out.append(t.getYear());
                case 'H' -> out.append(String.format(pad2, t.getHour()));
                case 'I' -> out.append(String.format(pad2, (t.getHour() + 11) % 12 + 1));
                case 'M' -> out.append(String.format(pad2, t.getMinute()));
                case 'S' -> out.append(String.format(pad2, t.getSecond()));
                case 'p' -> out.append(t.getHour() < 12 ? "AM" : "PM");
                case 'j' -> out.append(String.format(unpadded ? "%d" : "%03d", t.getDayOfYear()));
                case 'Z' -> out.append(t.getZone().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'z' -> out.append(t.getOffset().getId().equals("Z") ? "+0000" : t.getOffset().getId().replace(":", ""));
                case '%' -> out.append('%');
                default -> out.append('%').append(unpadded ? "-" : "").append(d);
            }
        }
        return out.toString();
    }

    // ---- methods ----

    static PyCallable dictMethod(Map<?, ?> map, String name) {
        return switch (name) {
            case "items" -> (args, kwargs) -> items(map);
            case "keys" -> (args, kwargs) -> Collections.unmodifiableList(new ArrayList<>(map.keySet()));
            case "values" -> (args, kwargs) -> Collections.unmodifiableList(new ArrayList<>(map.values()));
            case "get" -> (args, kwargs) -> {
                Args a = new Args("dict.get()", args, kwargs).accept(2);
                Object key = a.require(0, "key");
                return map.containsKey(key) ? map.get(key) : a.get(1, "default", null);
            };
            default -> null;
        };
    }

    private static List<Object> items(Map<?, ?> map) {
        List<Object> pairs = new ArrayList<>(map.size());
        map.forEach((k, v) -> pairs.add(PyTuple.of(k, v)));
        return Collections.unmodifiableList(pairs);
    }

    /** The Python {@code str} methods a template may call; null when there is no such method. */
    static PyCallable stringMethod(String s, String name) {
        return switch (name) {
            case "strip", "lstrip", "rstrip" -> (args, kwargs) -> {
                Object chars = new Args("str." + name + "()", args, kwargs).accept(1, "chars").get(0, "chars", null);
                return strip(s, chars == null ? null : Py.str(chars), !name.equals("rstrip"), !name.equals("lstrip"));
            };
            case "split", "rsplit" -> (args, kwargs) -> {
                Args a = new Args("str." + name + "()", args, kwargs).accept(2, "sep", "maxsplit");
                Object sep = a.get(0, "sep", null);
                long max = Py.requireInteger(a.get(1, "maxsplit", -1L), "maxsplit");
                return Collections.unmodifiableList(
                        split(s, sep == null ? null : Py.str(sep), (int) Math.min(max, Integer.MAX_VALUE), name.equals("rsplit")));
            };
            case "splitlines" -> (args, kwargs) -> {
                List<Object> lines = new ArrayList<>(List.of((Object[]) s.split("\r\n|\r|\n", -1)));
                if (!lines.isEmpty() && lines.get(lines.size() - 1).equals("")) {
                    lines.remove(lines.size() - 1);
                }
                return Collections.unmodifiableList(lines);
            };
            case "startswith", "endswith" -> (args, kwargs) -> {
                Object affix = new Args("str." + name + "()", args, kwargs).accept(1).require(0, name.substring(0, name.length() - 4));
                List<Object> options = affix instanceof List<?> list ? new ArrayList<>(list) : List.of(affix);
                for (Object option : options) {
                    if (!(option instanceof String text)) {
                        throw new PyError(name + " first arg must be str or a tuple of str, not " + Py.typeName(option));
                    }
                    if (name.equals("startswith") ? s.startsWith(text) : s.endsWith(text)) {
                        return true;
                    }
                }
                return false;
            };
            case "upper" -> (args, kwargs) -> s.toUpperCase(Locale.ROOT);
            case "lower" -> (args, kwargs) -> s.toLowerCase(Locale.ROOT);
            case "title" -> (args, kwargs) -> title(s);
            case "capitalize" -> (args, kwargs) -> capitalize(s);
            case "replace" -> (args, kwargs) -> {
                Args a = new Args("str.replace()", args, kwargs).accept(3, "count");
                return replace(s, Py.str(a.require(0, "old")), Py.str(a.require(1, "new")),
                        Py.requireInteger(a.get(2, "count", -1L), "count"));
            };
            case "find", "rfind", "index", "rindex", "count" -> (args, kwargs) -> {
                Object sub = new Args("str." + name + "()", args, kwargs).accept(1).require(0, "sub");
                String text = Py.str(sub);
                return switch (name) {
                    case "find" -> (long) s.indexOf(text);
                    case "rfind" -> (long) s.lastIndexOf(text);
                    case "count" -> countOccurrences(s, text);
                    default -> {
                        long at = name.equals("index") ? s.indexOf(text) : s.lastIndexOf(text);
                        if (at < 0) {
                            throw new PyError("substring not found");
                        }
                        yield at;
                    }
                };
            };
            case "join" -> (args, kwargs) -> {
                Object items = new Args("str.join()", args, kwargs).accept(1).require(0, "iterable");
                List<String> parts = new ArrayList<>();
                for (Object item : Py.iterate(items)) {
                    if (!(item instanceof String part)) {
                        throw new PyError("sequence item: expected str instance, " + Py.typeName(item) + " found");
                    }
                    parts.add(part);
                }
                return String.join(s, parts);
            };
            case "format" -> (args, kwargs) -> format(s, args, kwargs);
            case "removeprefix" -> (args, kwargs) -> {
                String prefix = Py.str(new Args("str.removeprefix()", args, kwargs).accept(1).require(0, "prefix"));
                return s.startsWith(prefix) ? s.substring(prefix.length()) : s;
            };
            case "removesuffix" -> (args, kwargs) -> {
                String suffix = Py.str(new Args("str.removesuffix()", args, kwargs).accept(1).require(0, "suffix"));
                return s.endsWith(suffix) && !suffix.isEmpty() ? s.substring(0, s.length() - suffix.length()) : s;
            };
            case "isdigit", "isnumeric", "isdecimal" -> (args, kwargs) -> !s.isEmpty() && s.codePoints().allMatch(Character::isDigit);
            case "isalpha" -> (args, kwargs) -> !s.isEmpty() && s.codePoints().allMatch(Character::isLetter);
            case "isalnum" -> (args, kwargs) -> !s.isEmpty() && s.codePoints().allMatch(Character::isLetterOrDigit);
            case "isspace" -> (args, kwargs) -> !s.isEmpty() && s.codePoints().allMatch(Builtins::isPythonSpace);
            case "islower" -> (args, kwargs) -> s.codePoints().anyMatch(Character::isLowerCase)
                    && s.codePoints().noneMatch(cp -> Character.isUpperCase(cp) || Character.isTitleCase(cp));
            case "isupper" -> (args, kwargs) -> s.codePoints().anyMatch(Character::isUpperCase)
                    && s.codePoints().noneMatch(cp -> Character.isLowerCase(cp) || Character.isTitleCase(cp));
            default -> null;
        };
    }

    /** Python's whitespace (str.isspace), which strip() and split() use when given no characters. */
    static boolean isPythonSpace(int cp) {
        return (cp >= 0x09 && cp <= 0x0d) || (cp >= 0x1c && cp <= 0x20) || cp == 0x85 || cp == 0xa0
                || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029
                || cp == 0x202f || cp == 0x205f || cp == 0x3000;
    }

    static String strip(String s, String chars, boolean left, boolean right) {
        int start = 0;
        int end = s.length();
        if (left) {
            while (start < end && stripped(s.codePointAt(start), chars)) {
                start += Character.charCount(s.codePointAt(start));
            }
        }
        if (right) {
            while (end > start && stripped(s.codePointBefore(end), chars)) {
                end -= Character.charCount(s.codePointBefore(end));
            }
        }
        return s.substring(start, end);
    }

    private static boolean stripped(int cp, String chars) {
        return chars == null ? isPythonSpace(cp) : chars.indexOf(cp) >= 0;
    }

    static List<Object> split(String s, String sep, int maxSplit, boolean fromRight) {
        List<Object> parts = new ArrayList<>();
        if (sep == null) {
            // runs of whitespace separate; no empty strings
            List<int[]> words = new ArrayList<>();
            int i = 0;
            while (i < s.length()) {
                while (i < s.length() && isPythonSpace(s.codePointAt(i))) {
                    i += Character.charCount(s.codePointAt(i));
                }
                if (i >= s.length()) {
                    break;
                }
                int start = i;
                while (i < s.length() && !isPythonSpace(s.codePointAt(i))) {
                    i += Character.charCount(s.codePointAt(i));
                }
                words.add(new int[] {start, i});
            }
            if (maxSplit < 0 || words.size() <= maxSplit + 1) {
                words.forEach(w -> parts.add(s.substring(w[0], w[1])));
            } else if (!fromRight) {
                for (int w = 0; w < maxSplit; w++) {
                    parts.add(s.substring(words.get(w)[0], words.get(w)[1]));
                }
                parts.add(strip(s.substring(words.get(maxSplit)[0]), null, false, true));
            } else {
                int keep = words.size() - maxSplit;
                parts.add(strip(s.substring(0, words.get(keep - 1)[1]), null, true, false));
                for (int w = keep; w < words.size(); w++) {
                    parts.add(s.substring(words.get(w)[0], words.get(w)[1]));
                }
            }
            return parts;
        }
        if (sep.isEmpty()) {
            throw new PyError("empty separator");
        }
        if (!fromRight) {
            int from = 0;
            int at;
            while ((maxSplit < 0 || parts.size() < maxSplit) && (at = s.indexOf(sep, from)) >= 0) {
                parts.add(s.substring(from, at));
                from = at + sep.length();
            }
            parts.add(s.substring(from));
            return parts;
        }
        int end = s.length();
        int at;
        List<Object> reversed = new ArrayList<>();
        while ((maxSplit < 0 || reversed.size() < maxSplit) && (at = s.lastIndexOf(sep, end - sep.length())) >= 0
                && end - sep.length() >= 0) {
            reversed.add(s.substring(at + sep.length(), end));
            end = at;
        }
        reversed.add(s.substring(0, end));
        Collections.reverse(reversed);
        return reversed;
    }

    static String title(String s) {
        StringBuilder out = new StringBuilder(s.length());
        boolean previousCased = false;
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            out.appendCodePoint(previousCased ? Character.toLowerCase(cp) : Character.toTitleCase(cp));
            previousCased = Character.isUpperCase(cp) || Character.isLowerCase(cp) || Character.isTitleCase(cp);
        }
        return out.toString();
    }

    static String capitalize(String s) {
        if (s.isEmpty()) {
            return s;
        }
        int first = s.codePointAt(0);
        return new StringBuilder().appendCodePoint(Character.toTitleCase(first))
                .append(s.substring(Character.charCount(first)).toLowerCase(Locale.ROOT)).toString();
    }

    private static String replace(String s, String old, String replacement, long count) {
        if (count < 0) {
            return s.replace(old, replacement);
        }
        StringBuilder out = new StringBuilder();
        int from = 0;
        for (long n = 0; n < count; n++) {
            int at = old.isEmpty() ? (from <= s.length() ? from : -1) : s.indexOf(old, from);
            if (at < 0) {
                break;
            }
            out.append(s, from, at).append(replacement);
            from = at + old.length();
            if (old.isEmpty()) {
                if (at < s.length()) {
                    out.append(s.charAt(at));
                }
                from = at + 1;
            }
        }
        if (from <= s.length()) {
            out.append(s.substring(Math.min(from, s.length())));
        }
        return out.toString();
    }

    private static long countOccurrences(String s, String sub) {
        if (sub.isEmpty()) {
            return s.codePointCount(0, s.length()) + 1L;
        }
        long n = 0;
        for (int at = s.indexOf(sub); at >= 0; at = s.indexOf(sub, at + sub.length())) {
            n++;
        }
        return n;
    }

    /** {@code str.format} for plain fields: {@code {}}, {@code {0}}, {@code {name}}, {@code {{ }}}. */
    private static String format(String s, List<Object> args, Map<String, Object> kwargs) {
        StringBuilder out = new StringBuilder();
        int auto = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '{' && i + 1 < s.length() && s.charAt(i + 1) == '{') {
                out.append('{');
                i++;
            } else if (c == '}' && i + 1 < s.length() && s.charAt(i + 1) == '}') {
                out.append('}');
                i++;
            } else if (c == '{') {
                int end = s.indexOf('}', i);
                if (end < 0) {
                    throw new PyError("single '{' encountered in format string");
                }
                String field = s.substring(i + 1, end);
                if (field.contains(":") || field.contains("!")) {
                    throw new PyError("format specs are not supported in str.format: '{" + field + "}'");
                }
                Object value;
                if (field.isEmpty()) {
                    if (auto >= args.size()) {
                        throw new PyError("replacement index " + auto + " out of range for positional args tuple");
                    }
                    value = args.get(auto++);
                } else if (field.chars().allMatch(Character::isDigit)) {
                    int index = Integer.parseInt(field);
                    if (index >= args.size()) {
                        throw new PyError("replacement index " + index + " out of range for positional args tuple");
                    }
                    value = args.get(index);
                } else if (kwargs.containsKey(field)) {
                    value = kwargs.get(field);
                } else {
                    throw new PyError("KeyError: '" + field + "'");
                }
                out.append(Py.str(value));
                i = end;
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    /** Python's {@code format % values} for %s, %r, %d, %i, %f (with precision) and %%. */
    static String percentFormat(String format, Object values) {
        List<Object> args = values instanceof List<?> list ? new ArrayList<>(list)
                : new ArrayList<>(Collections.singletonList(values));
        StringBuilder out = new StringBuilder();
        int next = 0;
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%') {
                out.append(c);
                continue;
            }
            if (++i >= format.length()) {
                throw new PyError("incomplete format");
            }
            Object value = null;
            if (format.charAt(i) == '(') {
                int close = format.indexOf(')', i);
                if (close < 0 || !(values instanceof Map<?, ?> map)) {
                    throw new PyError("format requires a mapping");
                }
                value = map.get(format.substring(i + 1, close));
                i = close + 1;
            }
            int precision = -1;
            if (format.charAt(i) == '.') {
                int start = ++i;
                while (i < format.length() && Character.isDigit(format.charAt(i))) {
                    i++;
                }
                precision = Integer.parseInt(format.substring(start, i));
            }
            char conversion = format.charAt(i);
            if (conversion == '%') {
                out.append('%');
                continue;
            }
            if (value == null && !(values instanceof Map<?, ?>)) {
                if (next >= args.size()) {
                    throw new PyError("not enough arguments for format string");
                }
                value = args.get(next++);
            }
            switch (conversion) {
                case 's' -> out.append(Py.str(value));
                case 'r' -> out.append(Py.repr(value));
                case 'd', 'i' -> {
                    if (!Py.isNumber(value)) {
                        throw new PyError("%" + conversion + " format: a number is required, not " + Py.typeName(value));
                    }
                    out.append(Py.toLong(value));
                }
                case 'f' -> {
                    if (!Py.isNumber(value)) {
                        throw new PyError("%f format: a number is required, not " + Py.typeName(value));
                    }
                    out.append(String.format(Locale.ROOT, "%." + (precision < 0 ? 6 : precision) + "f", Py.toDouble(value)));
                }
                default -> throw new PyError("unsupported format character '" + conversion + "'");
            }
        }
        return out.toString();
    }

    // ---- JSON ----

    /**
     * transformers' {@code tojson}: Python's {@code json.dumps(value, ensure_ascii=False, indent=indent,
     * separators=separators, sort_keys=sort_keys)}, so tool schemas appear in the prompt exactly as the model
     * saw them in training (note the spaces after ',' and ':').
     */
    static String toJson(Object value, Object indent, boolean ensureAscii, List<?> separators, boolean sortKeys) {
        String indentUnit = indent == null ? null
                : indent instanceof String s ? s : " ".repeat((int) Math.max(0, Py.requireInteger(indent, "indent")));
        String itemSeparator = indentUnit == null ? ", " : ",";
        String keySeparator = ": ";
        if (separators != null) {
            if (separators.size() != 2) {
                throw new PyError("separators must be a pair of strings");
            }
            itemSeparator = Py.str(separators.get(0));
            keySeparator = Py.str(separators.get(1));
        }
        StringBuilder out = new StringBuilder();
        writeJson(out, value, indentUnit, itemSeparator, keySeparator, ensureAscii, sortKeys, 0);
        return out.toString();
    }

    private static void writeJson(StringBuilder out, Object v, String indent, String itemSep, String keySep,
            boolean ascii, boolean sortKeys, int level) {
        if (v == null) {
            out.append("null");
        } else if (v instanceof Boolean b) {
            out.append(b ? "true" : "false");
        } else if (v instanceof Long l) {
            out.append(l);
        } else if (v instanceof Double d) {
            out.append(d.isNaN() ? "NaN" : d.isInfinite() ? (d > 0 ? "Infinity" : "-Infinity") : Py.formatFloat(d));
        } else if (v instanceof String s) {
            writeJsonString(out, s, ascii);
        } else if (v instanceof List<?> list) {
            if (list.isEmpty()) {
                out.append("[]");
                return;
            }
            out.append('[');
            for (int i = 0; i < list.size(); i++) {
                if (i > 0) {
                    out.append(itemSep);
                }
                newline(out, indent, level + 1);
                writeJson(out, list.get(i), indent, itemSep, keySep, ascii, sortKeys, level + 1);
            }
            newline(out, indent, level);
            out.append(']');
        } else if (v instanceof Map<?, ?> map) {
            if (map.isEmpty()) {
                out.append("{}");
                return;
            }
            List<Map.Entry<String, Object>> entries = new ArrayList<>();
            map.forEach((k, val) -> entries.add(Map.entry(jsonKey(k), val == null ? NULL_MARK : val)));
            if (sortKeys) {
                entries.sort(Map.Entry.comparingByKey());
            }
            out.append('{');
            for (int i = 0; i < entries.size(); i++) {
                if (i > 0) {
                    out.append(itemSep);
                }
                newline(out, indent, level + 1);
                writeJsonString(out, entries.get(i).getKey(), ascii);
                out.append(keySep);
                Object val = entries.get(i).getValue();
                writeJson(out, val == NULL_MARK ? null : val, indent, itemSep, keySep, ascii, sortKeys, level + 1);
            }
            newline(out, indent, level);
            out.append('}');
        } else {
            throw new PyError("Object of type " + Py.typeName(v) + " is not JSON serializable");
        }
    }

    private static final Object NULL_MARK = new Object(); // Map.entry takes no null values

    private static String jsonKey(Object k) {
        if (k instanceof String s) {
            return s;
        }
        if (k == null) {
            return "null";
        }
        if (k instanceof Boolean b) {
            return b ? "true" : "false";
        }
        if (k instanceof Long || k instanceof Double) {
            return Py.str(k);
        }
        throw new PyError("keys must be str, int, float, bool or None, not " + Py.typeName(k));
    }

    private static void newline(StringBuilder out, String indent, int level) {
        if (indent != null) {
            out.append('\n').append(indent.repeat(level));
        }
    }

    private static void writeJsonString(StringBuilder out, String s, boolean ascii) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20 || (ascii && c > 0x7e)) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }

    // ---- filters ----

    static {
        FILTERS.put("abs", (v, a) -> {
            a.accept(0);
            if (v instanceof Double d) {
                return Math.abs(d);
            }
            if (Py.isNumber(v)) {
                return Math.abs(Py.toLong(v));
            }
            throw new PyError("bad operand type for abs(): '" + Py.typeName(v) + "'");
        });
        FILTERS.put("attr", (v, a) -> Py.getAttr(v, Py.str(a.accept(1).require(0, "name"))));
        FILTERS.put("capitalize", (v, a) -> capitalize(Py.str(v)));
        FILTERS.put("length", (v, a) -> Py.length(v));
        FILTERS.put("count", FILTERS.get("length"));
        FilterFn defaultFilter = (v, a) -> {
            a.accept(2, "default_value", "boolean");
            Object fallback = a.get(0, "default_value", "");
            boolean onFalse = Py.truthy(a.get(1, "boolean", false));
            return v instanceof Undefined || (onFalse && !Py.truthy(v)) ? fallback : v;
        };
        FILTERS.put("default", defaultFilter);
        FILTERS.put("d", defaultFilter);
        FILTERS.put("dictsort", (v, a) -> {
            a.accept(3, "case_sensitive", "by", "reverse");
            if (!(v instanceof Map<?, ?> map)) {
                throw new PyError("dictsort expects a dict, not " + Py.typeName(v));
            }
            boolean caseSensitive = Py.truthy(a.get(0, "case_sensitive", false));
            boolean byValue = "value".equals(a.get(1, "by", "key"));
            List<Object> pairs = new ArrayList<>(items(map));
            pairs.sort(Comparator.comparing(p -> sortKey(((List<?>) p).get(byValue ? 1 : 0), caseSensitive), Builtins::order));
            if (Py.truthy(a.get(2, "reverse", false))) {
                Collections.reverse(pairs);
            }
            return Collections.unmodifiableList(pairs);
        });
        FilterFn escape = (v, a) -> Py.str(v).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                .replace("\"", "&#34;").replace("'", "&#39;");
        FILTERS.put("escape", escape);
        FILTERS.put("e", escape);
        FILTERS.put("first", (v, a) -> {
            List<Object> items = Py.iterate(v);
            return items.isEmpty() ? Undefined.because("no first item, sequence was empty") : items.get(0);
        });
        FILTERS.put("last", (v, a) -> {
            List<Object> items = Py.iterate(v);
            return items.isEmpty() ? Undefined.because("no last item, sequence was empty") : items.get(items.size() - 1);
        });
        FILTERS.put("float", (v, a) -> {
            Object fallback = a.accept(1, "default").get(0, "default", 0.0);
            if (Py.isNumber(v)) {
                return Py.toDouble(v);
            }
            try {
                return Double.parseDouble(Py.str(v).strip());
            } catch (NumberFormatException e) {
                return fallback;
            }
        });
        FILTERS.put("int", (v, a) -> {
            a.accept(2, "default", "base");
            Object fallback = a.get(0, "default", 0L);
            long base = Py.requireInteger(a.get(1, "base", 10L), "base");
            if (Py.isNumber(v)) {
                return Py.toLong(v);
            }
            String text = Py.str(v).strip().replace("_", "");
            try {
                return Long.parseLong(text, (int) base);
            } catch (NumberFormatException e) {
                try {
                    return (long) Double.parseDouble(text);
                } catch (NumberFormatException e2) {
                    return fallback;
                }
            }
        });
        FILTERS.put("indent", (v, a) -> {
            a.accept(3, "width", "first", "blank");
            Object width = a.get(0, "width", 4L);
            String unit = width instanceof String s ? s : " ".repeat((int) Py.requireInteger(width, "width"));
            return indent(Py.str(v), unit, Py.truthy(a.get(1, "first", false)), Py.truthy(a.get(2, "blank", false)));
        });
        FILTERS.put("items", (v, a) -> {
            if (v instanceof Undefined) {
                return List.of();
            }
            if (!(v instanceof Map<?, ?> map)) {
                throw new PyError("Can only get item pairs from a mapping.");
            }
            return items(map);
        });
        FILTERS.put("join", (v, a) -> {
            a.accept(2, "d", "attribute");
            String separator = Py.str(a.get(0, "d", ""));
            Object attribute = a.get(1, "attribute", null);
            List<String> parts = new ArrayList<>();
            for (Object item : Py.iterate(v)) {
                parts.add(Py.str(attribute == null ? item : attributeOf(item, attribute)));
            }
            return String.join(separator, parts);
        });
        FILTERS.put("list", (v, a) -> Collections.unmodifiableList(new ArrayList<>(Py.iterate(v))));
        FILTERS.put("lower", (v, a) -> Py.str(v).toLowerCase(Locale.ROOT));
        FILTERS.put("upper", (v, a) -> Py.str(v).toUpperCase(Locale.ROOT));
        FILTERS.put("title", (v, a) -> title(Py.str(v)));
        FILTERS.put("map", (v, a) -> {
            List<Object> out = new ArrayList<>();
            if (a.keywords.containsKey("attribute")) {
                Object attribute = a.keywords.get("attribute");
                Object fallback = a.keywords.getOrDefault("default", MISSING);
                for (Object item : Py.iterate(v)) {
                    Object value = attributeOf(item, attribute);
                    out.add(value instanceof Undefined && fallback != MISSING ? fallback : value);
                }
            } else {
                if (a.positional.isEmpty()) {
                    throw new PyError("map needs a filter name or attribute=");
                }
                String name = Py.str(a.positional.get(0));
                if (!hasFilter(name)) {
                    throw new PyError("no filter named '" + name + "'");
                }
                List<Object> rest = a.positional.subList(1, a.positional.size());
                for (Object item : Py.iterate(v)) {
                    out.add(filter(name, item, rest, a.keywords));
                }
            }
            return Collections.unmodifiableList(out);
        });
        FILTERS.put("max", (v, a) -> extreme(v, a, true));
        FILTERS.put("min", (v, a) -> extreme(v, a, false));
        FILTERS.put("select", (v, a) -> select(v, a, false, false));
        FILTERS.put("reject", (v, a) -> select(v, a, true, false));
        FILTERS.put("selectattr", (v, a) -> select(v, a, false, true));
        FILTERS.put("rejectattr", (v, a) -> select(v, a, true, true));
        FILTERS.put("replace", (v, a) -> {
            a.accept(3, "count");
            Object count = a.get(2, "count", null);
            return replace(Py.str(v), Py.str(a.require(0, "old")), Py.str(a.require(1, "new")),
                    count == null ? -1 : Py.requireInteger(count, "count"));
        });
        FILTERS.put("reverse", (v, a) -> {
            if (v instanceof String s) {
                return new StringBuilder(s).reverse().toString();
            }
            List<Object> items = new ArrayList<>(Py.iterate(v));
            Collections.reverse(items);
            return Collections.unmodifiableList(items);
        });
        FILTERS.put("round", (v, a) -> {
            a.accept(2, "precision", "method");
            long precision = Py.requireInteger(a.get(0, "precision", 0L), "precision");
            String method = Py.str(a.get(1, "method", "common"));
            double scale = Math.pow(10, precision);
            double x = Py.toDouble(v) * scale;
            double rounded = switch (method) {
                case "common" -> Math.rint(x);
                case "ceil" -> Math.ceil(x);
                case "floor" -> Math.floor(x);
                default -> throw new PyError("method must be common, ceil or floor");
            };
            return rounded / scale;
        });
        FILTERS.put("safe", (v, a) -> v);
        FILTERS.put("string", (v, a) -> Py.str(v));
        FILTERS.put("sort", (v, a) -> {
            a.accept(3, "reverse", "case_sensitive", "attribute");
            boolean caseSensitive = Py.truthy(a.get(1, "case_sensitive", false));
            Object attribute = a.get(2, "attribute", null);
            List<Object> items = new ArrayList<>(Py.iterate(v));
            items.sort(Comparator.comparing(item -> sortKey(attribute == null ? item : attributeOf(item, attribute),
                    caseSensitive), Builtins::order));
            if (Py.truthy(a.get(0, "reverse", false))) {
                Collections.reverse(items);
            }
            return Collections.unmodifiableList(items);
        });
        FILTERS.put("sum", (v, a) -> {
            a.accept(2, "attribute", "start");
            Object attribute = a.get(0, "attribute", null);
            Object total = a.get(1, "start", 0L);
            for (Object item : Py.iterate(v)) {
                total = Py.binary("+", total, attribute == null ? item : attributeOf(item, attribute));
            }
            return total;
        });
        FILTERS.put("tojson", (v, a) -> {
            a.accept(4, "ensure_ascii", "indent", "separators", "sort_keys");
            Object separators = a.get(2, "separators", null);
            return toJson(v, a.get(1, "indent", null), Py.truthy(a.get(0, "ensure_ascii", false)),
                    separators == null ? null : (List<?>) separators, Py.truthy(a.get(3, "sort_keys", false)));
        });
        FILTERS.put("trim", (v, a) -> {
            Object chars = a.accept(1, "chars").get(0, "chars", null);
            return strip(Py.str(v), chars == null ? null : Py.str(chars), true, true);
        });
        FILTERS.put("unique", (v, a) -> {
            a.accept(2, "case_sensitive", "attribute");
            boolean caseSensitive = Py.truthy(a.get(0, "case_sensitive", false));
            Object attribute = a.get(1, "attribute", null);
            List<Object> out = new ArrayList<>();
            List<Object> seen = new ArrayList<>();
            for (Object item : Py.iterate(v)) {
                Object key = sortKey(attribute == null ? item : attributeOf(item, attribute), caseSensitive);
                if (seen.stream().noneMatch(s -> Py.eq(s, key))) {
                    seen.add(key);
                    out.add(item);
                }
            }
            return Collections.unmodifiableList(out);
        });
        FILTERS.put("wordcount", (v, a) -> (long) split(Py.str(v), null, -1, false).size());
        FILTERS.put("format", (v, a) -> percentFormat(Py.str(v), a.keywords.isEmpty()
                ? Collections.unmodifiableList(new ArrayList<>(a.positional)) : a.keywords));
        FILTERS.put("pprint", (v, a) -> Py.repr(v));

        TESTS.put("defined", (v, a) -> !(v instanceof Undefined));
        TESTS.put("undefined", (v, a) -> v instanceof Undefined);
        TESTS.put("none", (v, a) -> v == null);
        TESTS.put("boolean", (v, a) -> v instanceof Boolean);
        TESTS.put("true", (v, a) -> Boolean.TRUE.equals(v));
        TESTS.put("false", (v, a) -> Boolean.FALSE.equals(v));
        TESTS.put("integer", (v, a) -> v instanceof Long);
        TESTS.put("float", (v, a) -> v instanceof Double);
        TESTS.put("number", (v, a) -> Py.isNumber(v));
        TESTS.put("string", (v, a) -> v instanceof String);
        TESTS.put("mapping", (v, a) -> v instanceof Map<?, ?>);
        TESTS.put("iterable", (v, a) -> v instanceof List<?> || v instanceof Map<?, ?> || v instanceof String
                || v instanceof Undefined);
        TESTS.put("sequence", (v, a) -> v instanceof List<?> || v instanceof Map<?, ?> || v instanceof String);
        TESTS.put("callable", (v, a) -> v instanceof PyCallable);
        TESTS.put("sameas", (v, a) -> v == argument(a, "sameas") || (v != null && v.equals(argument(a, "sameas"))
                && (v instanceof Boolean || v instanceof Long)));
        TestFn eq = (v, a) -> Py.eq(v, argument(a, "eq"));
        TESTS.put("eq", eq);
        TESTS.put("equalto", eq);
        TESTS.put("==", eq);
        TestFn ne = (v, a) -> !Py.eq(v, argument(a, "ne"));
        TESTS.put("ne", ne);
        TESTS.put("!=", ne);
        TestFn lt = (v, a) -> Py.compare(v, argument(a, "lt"), "<") < 0;
        TESTS.put("lt", lt);
        TESTS.put("lessthan", lt);
        TESTS.put("<", lt);
        TestFn le = (v, a) -> Py.compare(v, argument(a, "le"), "<=") <= 0;
        TESTS.put("le", le);
        TESTS.put("<=", le);
        TestFn gt = (v, a) -> Py.compare(v, argument(a, "gt"), ">") > 0;
        TESTS.put("gt", gt);
        TESTS.put("greaterthan", gt);
        TESTS.put(">", gt);
        TestFn ge = (v, a) -> Py.compare(v, argument(a, "ge"), ">=") >= 0;
        TESTS.put("ge", ge);
        TESTS.put(">=", ge);
        TESTS.put("in", (v, a) -> Py.contains(argument(a, "in"), v));
        TESTS.put("odd", (v, a) -> Py.requireInteger(v, "odd test value") % 2 != 0);
        TESTS.put("even", (v, a) -> Py.requireInteger(v, "even test value") % 2 == 0);
        TESTS.put("divisibleby", (v, a) -> {
            long divisor = Py.requireInteger(argument(a, "divisibleby"), "divisor");
            return divisor != 0 && Py.requireInteger(v, "divisibleby test value") % divisor == 0;
        });
        TESTS.put("lower", (v, a) -> v instanceof String s && s.equals(s.toLowerCase(Locale.ROOT)));
        TESTS.put("upper", (v, a) -> v instanceof String s && s.equals(s.toUpperCase(Locale.ROOT)));
        TESTS.put("filter", (v, a) -> v instanceof String s && hasFilter(s));
        TESTS.put("test", (v, a) -> v instanceof String s && hasTest(s));
        TESTS.put("escaped", (v, a) -> false);
    }

    private static Object argument(List<Object> args, String test) {
        if (args.size() != 1) {
            throw new PyError("the '" + test + "' test takes one argument");
        }
        return args.get(0);
    }

    /** Jinja2's attribute paths in filters: {@code "a.b"} or {@code "0"} look up one step after another. */
    private static Object attributeOf(Object item, Object attribute) {
        if (!(attribute instanceof String path)) {
            return Py.getItem(item, attribute);
        }
        Object value = item;
        for (String part : path.split("\\.")) {
            value = part.chars().allMatch(Character::isDigit) && !part.isEmpty()
                    ? Py.getItem(value, Long.parseLong(part)) : Py.getItem(value, part);
        }
        return value;
    }

    private static Object sortKey(Object value, boolean caseSensitive) {
        return !caseSensitive && value instanceof String s ? s.toLowerCase(Locale.ROOT) : value;
    }

    private static int order(Object a, Object b) {
        return Py.compare(a, b, "<");
    }

    private static Object extreme(Object v, Args a, boolean max) {
        a.accept(2, "case_sensitive", "attribute");
        boolean caseSensitive = Py.truthy(a.get(0, "case_sensitive", false));
        Object attribute = a.get(1, "attribute", null);
        Object best = null;
        Object bestKey = null;
        for (Object item : Py.iterate(v)) {
            Object key = sortKey(attribute == null ? item : attributeOf(item, attribute), caseSensitive);
            if (bestKey == null || (max ? order(key, bestKey) > 0 : order(key, bestKey) < 0)) {
                best = item;
                bestKey = key;
            }
        }
        return bestKey == null ? Undefined.because("no " + (max ? "largest" : "smallest") + " item, sequence was empty")
                : best;
    }

    private static Object select(Object v, Args a, boolean reject, boolean byAttribute) {
        int first = byAttribute ? 1 : 0;
        Object attribute = byAttribute ? a.require(0, "attribute") : null;
        String testName = a.positional.size() > first ? Py.str(a.positional.get(first)) : null;
        if (testName != null && !hasTest(testName)) {
            throw new PyError("no test named '" + testName + "'");
        }
        List<Object> testArgs = a.positional.size() > first + 1
                ? a.positional.subList(first + 1, a.positional.size()) : List.of();
        List<Object> out = new ArrayList<>();
        for (Object item : Py.iterate(v)) {
            Object subject = byAttribute ? attributeOf(item, attribute) : item;
            boolean passed = testName == null ? Py.truthy(subject) : test(testName, subject, testArgs);
            if (passed != reject) {
                out.add(item);
            }
        }
        return Collections.unmodifiableList(out);
    }

    private static String indent(String s, String unit, boolean first, boolean blank) {
        String text = s + "\n"; // as Jinja2 does, so a trailing newline yields a last empty line
        List<String> lines = new ArrayList<>(List.of(text.split("\r\n|\r|\n", -1)));
        lines.remove(lines.size() - 1);
        StringBuilder out = new StringBuilder();
        if (blank) {
            out.append(String.join("\n" + unit, lines));
        } else {
            out.append(lines.get(0));
            for (int i = 1; i < lines.size(); i++) {
                out.append('\n');
                if (!lines.get(i).isEmpty()) {
                    out.append(unit);
                }
                out.append(lines.get(i));
            }
        }
        return first ? unit + out : out.toString();
    }
}
