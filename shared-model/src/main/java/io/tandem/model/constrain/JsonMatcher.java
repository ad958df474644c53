package io.tandem.model.constrain;

import java.util.ArrayList;
import java.util.List;

/**
 * A byte-at-a-time recogniser of the JSON a {@link Shape} admits: a pushdown automaton whose
 * configurations are immutable stacks of frames, so one configuration can be continued with many
 * different tokens without copying. Where the grammar is ambiguous (anyOf, a number that may end
 * or go on) a state holds several configurations. Everything here is a value: states compare by
 * content, which is what lets masks be cached per state.
 */
final class JsonMatcher {

    private JsonMatcher() {
    }

    /** Where a container is: just opened, after a member, or after a comma (a member must follow). */
    static final int OPEN = 0;
    static final int AFTER_VALUE = 1;
    static final int AFTER_COMMA = 2;

    /** A stack of frames, top first; {@link #DONE} is the empty stack: a complete document. */
    record Config(Frame top, Config rest, int minBytes) {
        static final Config DONE = new Config(null, null, 0);

        static Config push(Frame top, Config rest) {
            return new Config(top, rest, top.minBytes() + rest.minBytes);
        }

        boolean done() {
            return top == null;
        }
    }

    /** The states a document can be in: the set of live configurations (empty: dead). */
    record State(List<Config> configs) {
        static State start(Shape root) {
            return new State(List.of(Config.push(new Value(root), Config.DONE)));
        }

        boolean dead() {
            return configs.isEmpty();
        }

        boolean complete() {
            for (Config c : configs) {
                if (c.done()) {
                    return true;
                }
            }
            return false;
        }

        /** Fewest bytes that complete the document from here. */
        int minBytes() {
            int min = Integer.MAX_VALUE;
            for (Config c : configs) {
                min = Math.min(min, c.minBytes());
            }
            return min;
        }

        /** The bytes of one shortest completion of the document from here (empty when it is complete). */
        byte[] shortestCompletion() {
            java.io.ByteArrayOutputStream best = null;
            for (Config c : configs) {
                java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
                for (Config k = c; !k.done(); k = k.rest()) {
                    k.top().complete(out);
                }
                if (best == null || out.size() < best.size()) {
                    best = out;
                }
            }
            return best == null ? new byte[0] : best.toByteArray();
        }

        State feed(int b) {
            List<Config> out = new ArrayList<>(2);
            for (Config c : configs) {
                if (!c.done()) {
                    c.top().step(b & 0xff, c.rest(), out);
                }
            }
            if (out.size() > 1) {
                out = new ArrayList<>(new java.util.LinkedHashSet<>(out));
            }
            return new State(List.copyOf(out));
        }

        State feed(byte[] bytes) {
            State s = this;
            for (int i = 0; i < bytes.length && !s.dead(); i++) {
                s = s.feed(bytes[i]);
            }
            return s;
        }
    }

    sealed interface Frame {
        /** Consumes byte {@code b} with {@code rest} below this frame; adds every resulting configuration to {@code out}. */
        void step(int b, Config rest, List<Config> out);

        /** Fewest bytes that finish this frame. */
        int minBytes();

        /** Writes one shortest text that finishes this frame ({@link #minBytes} long). */
        void complete(java.io.ByteArrayOutputStream out);
    }

    /** One shortest text of a value of {@code shape}. */
    static void shortest(Shape shape, java.io.ByteArrayOutputStream out) {
        switch (shape) {
            case Shape.Obj obj -> {
                out.write('{');
                boolean first = true;
                for (Shape.Prop p : obj.props()) {
                    if (p.required()) {
                        if (!first) {
                            out.write(',');
                        }
                        first = false;
                        out.write('"');
                        out.writeBytes(p.key());
                        shortest(p.shape(), out);
                    }
                }
                out.write('}');
            }
            case Shape.AnyObj any -> out.writeBytes(bytes("{}"));
            case Shape.Arr arr -> {
                out.write('[');
                for (int i = 0; i < arr.min(); i++) {
                    if (i > 0) {
                        out.write(',');
                    }
                    shortest(arr.items(), out);
                }
                out.write(']');
            }
            case Shape.Str str -> {
                out.write('"');
                for (int i = 0; i < str.min(); i++) {
                    out.write('a');
                }
                out.write('"');
            }
            case Shape.Num num -> out.write('0');
            case Shape.AnyValue any -> out.write('0');
            case Shape.Lit lit -> {
                byte[] best = lit.options().getFirst();
                for (byte[] o : lit.options()) {
                    if (o.length < best.length) {
                        best = o;
                    }
                }
                out.writeBytes(best);
            }
            case Shape.AnyOf anyOf -> {
                Shape best = anyOf.options().getFirst();
                for (Shape o : anyOf.options()) {
                    if (Shape.min(o) < Shape.min(best)) {
                        best = o;
                    }
                }
                shortest(best, out);
            }
            case Shape.Seq seq -> seq.parts().forEach(p -> shortest(p, out));
        }
    }

    /** Expects the first byte of a value of {@code shape}. */
    record Value(Shape shape) implements Frame {
        @Override
        public void step(int b, Config rest, List<Config> out) {
            switch (shape) {
                case Shape.Obj obj -> {
                    if (b == '{') {
                        out.add(Config.push(new ObjBody(obj, 0L, OPEN), rest));
                    }
                }
                case Shape.AnyObj any -> {
                    if (b == '{') {
                        out.add(Config.push(new AnyObjBody(OPEN), rest));
                    }
                }
                case Shape.Arr arr -> {
                    if (b == '[') {
                        out.add(Config.push(new ArrBody(arr, 0, OPEN), rest));
                    }
                }
                case Shape.Str str -> {
                    if (b == '"') {
                        out.add(Config.push(new StrBody(str.min(), str.max(), 0, 0, 0, str.counts()), rest));
                    }
                }
                case Shape.Num num -> {
                    if (b == '-') {
                        out.add(Config.push(new NumBody(num.integer(), NumBody.SIGN), rest));
                    } else if (b == '0') {
                        out.add(Config.push(new NumBody(num.integer(), NumBody.ZERO), rest));
                    } else if (b >= '1' && b <= '9') {
                        out.add(Config.push(new NumBody(num.integer(), NumBody.INT), rest));
                    }
                }
                case Shape.Lit lit -> new LitBody(lit.options(), 0).step(b, rest, out);
                case Shape.AnyOf anyOf -> {
                    for (Shape option : anyOf.options()) {
                        new Value(option).step(b, rest, out);
                    }
                }
                case Shape.AnyValue any -> {
                    for (Shape option : ANY) {
                        new Value(option).step(b, rest, out);
                    }
                }
                case Shape.Seq seq -> {
                    Config after = rest;
                    for (int i = seq.parts().size() - 1; i >= 1; i--) {
                        after = Config.push(new Value(seq.parts().get(i)), after);
                    }
                    new Value(seq.parts().getFirst()).step(b, after, out);
                }
            }
        }

        @Override
        public int minBytes() {
            return Shape.min(shape);
        }

        @Override
        public void complete(java.io.ByteArrayOutputStream out) {
            shortest(shape, out);
        }
    }

    private static final Shape.AnyValue ANY_VALUE = new Shape.AnyValue();
    private static final Shape.Str ANY_STRING = new Shape.Str(0, Integer.MAX_VALUE);
    private static final List<Shape> ANY = List.of(new Shape.AnyObj(), new Shape.Arr(ANY_VALUE, 0, Integer.MAX_VALUE),
            ANY_STRING, new Shape.Num(false), new Shape.Lit(List.of(bytes("true"), bytes("false"), bytes("null"))));

    private static byte[] bytes(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }

    /** One exact byte. */
    record Expect(int expected) implements Frame {
        @Override
        public void step(int b, Config rest, List<Config> out) {
            if (b == expected) {
                out.add(rest);
            }
        }

        @Override
        public int minBytes() {
            return 1;
        }

        @Override
        public void complete(java.io.ByteArrayOutputStream out) {
            out.write(expected);
        }
    }

    /** Inside an object with declared properties; {@code seen} has a bit per property already written. */
    record ObjBody(Shape.Obj obj, long seen, int phase) implements Frame {
        @Override
        public void step(int b, Config rest, List<Config> out) {
            long missing = obj.requiredMask() & ~seen;
            if (b == '}' && phase != AFTER_COMMA && missing == 0) {
                out.add(rest);
            } else if (b == ',' && phase == AFTER_VALUE && hasUnseen()) {
                out.add(Config.push(new ObjBody(obj, seen, AFTER_COMMA), rest));
            } else if (b == '"' && phase != AFTER_VALUE && hasUnseen()) {
                out.add(Config.push(new KeyBody(this, unseen(), 0), rest));
            }
        }

        boolean hasUnseen() {
            return unseen() != 0;
        }

        long unseen() {
            long all = obj.props().size() == 64 ? -1L : (1L << obj.props().size()) - 1;
            return all & ~seen;
        }

        @Override
        public int minBytes() {
            long missing = obj.requiredMask() & ~seen;
            int n = 1; // '}'
            int count = 0;
            for (int i = 0; i < obj.props().size(); i++) {
                if ((missing & (1L << i)) != 0) {
                    Shape.Prop p = obj.props().get(i);
                    n += 1 + p.key().length + Shape.min(p.shape());
                    count++;
                }
            }
            int commas = switch (phase) {
                case OPEN -> Math.max(0, count - 1);
                case AFTER_VALUE -> count;
                default -> Math.max(0, count - 1);
            };
            if (phase == AFTER_COMMA && count == 0) {
                // a comma was written: some property must follow (complete() writes the same choice)
                int cheapest = Integer.MAX_VALUE;
                for (int i = 0; i < obj.props().size(); i++) {
                    if ((seen & (1L << i)) == 0) {
                        Shape.Prop p = obj.props().get(i);
                        cheapest = Math.min(cheapest, 1 + p.key().length + Shape.min(p.shape()));
                    }
                }
                n += cheapest;
            }
            return n + commas;
        }

        @Override
        public void complete(java.io.ByteArrayOutputStream out) {
            long missing = obj.requiredMask() & ~seen;
            boolean needComma = phase == AFTER_VALUE;
            if (phase == AFTER_COMMA && missing == 0) {
                int cheapest = -1;
                for (int i = 0; i < obj.props().size(); i++) {
                    if ((seen & (1L << i)) == 0) {
                        Shape.Prop p = obj.props().get(i);
                        if (cheapest < 0 || p.key().length + Shape.min(p.shape())
                                < obj.props().get(cheapest).key().length + Shape.min(obj.props().get(cheapest).shape())) {
                            cheapest = i;
                        }
                    }
                }
                missing = 1L << cheapest;
            }
            for (int i = 0; i < obj.props().size(); i++) {
                if ((missing & (1L << i)) != 0) {
                    if (needComma) {
                        out.write(',');
                    }
                    needComma = true;
                    out.write('"');
                    out.writeBytes(obj.props().get(i).key());
                    shortest(obj.props().get(i).shape(), out);
                }
            }
            out.write('}');
        }
    }

    /** A property name being written, after its opening quote: {@code pos} bytes of each {@code candidates} key ({@code name":}) matched. */
    record KeyBody(ObjBody owner, long candidates, int pos) implements Frame {
        @Override
        public void step(int b, Config rest, List<Config> out) {
            List<Shape.Prop> props = owner.obj().props();
            long still = 0;
            for (int i = 0; i < props.size(); i++) {
                if ((candidates & (1L << i)) == 0) {
                    continue;
                }
                byte[] key = props.get(i).key();
                if ((key[pos] & 0xff) == b) {
                    if (pos + 1 == key.length) {
                        Config after = Config.push(new ObjBody(owner.obj(), owner.seen() | (1L << i), AFTER_VALUE), rest);
                        out.add(Config.push(new Value(props.get(i).shape()), after));
                    } else {
                        still |= 1L << i;
                    }
                }
            }
            if (still != 0) {
                out.add(Config.push(new KeyBody(owner, still, pos + 1), rest));
            }
        }

        @Override
        public int minBytes() {
            int best = Integer.MAX_VALUE;
            List<Shape.Prop> props = owner.obj().props();
            for (int i = 0; i < props.size(); i++) {
                if ((candidates & (1L << i)) != 0) {
                    Shape.Prop p = props.get(i);
                    int after = new ObjBody(owner.obj(), owner.seen() | (1L << i), AFTER_VALUE).minBytes();
                    best = Math.min(best, p.key().length - pos + Shape.min(p.shape()) + after);
                }
            }
            return best;
        }

        @Override
        public void complete(java.io.ByteArrayOutputStream out) {
            List<Shape.Prop> props = owner.obj().props();
            int best = -1;
            int bestLength = Integer.MAX_VALUE;
            for (int i = 0; i < props.size(); i++) {
                if ((candidates & (1L << i)) != 0) {
                    Shape.Prop p = props.get(i);
                    int length = p.key().length - pos + Shape.min(p.shape())
                            + new ObjBody(owner.obj(), owner.seen() | (1L << i), AFTER_VALUE).minBytes();
                    if (length < bestLength) {
                        best = i;
                        bestLength = length;
                    }
                }
            }
            Shape.Prop p = props.get(best);
            out.write(p.key(), pos, p.key().length - pos);
            shortest(p.shape(), out);
            new ObjBody(owner.obj(), owner.seen() | (1L << best), AFTER_VALUE).complete(out);
        }
    }

    /** Inside any JSON object. */
    record AnyObjBody(int phase) implements Frame {
        @Override
        public void step(int b, Config rest, List<Config> out) {
            if (b == '}' && phase != AFTER_COMMA) {
                out.add(rest);
            } else if (b == ',' && phase == AFTER_VALUE) {
                out.add(Config.push(new AnyObjBody(AFTER_COMMA), rest));
            } else if (b == '"' && phase != AFTER_VALUE) {
                Config after = Config.push(new AnyObjBody(AFTER_VALUE), rest);
                Config value = Config.push(new Value(ANY_VALUE), after);
                Config colon = Config.push(new Expect(':'), value);
                out.add(Config.push(new StrBody(0, Integer.MAX_VALUE, 0, 0, 0, false), colon));
            }
        }

        @Override
        public int minBytes() {
            return phase == AFTER_COMMA ? 5 : 1; // "":0} at least after a comma
        }

        @Override
        public void complete(java.io.ByteArrayOutputStream out) {
            out.writeBytes(bytes(phase == AFTER_COMMA ? "\"\":0}" : "}"));
        }
    }

    record ArrBody(Shape.Arr arr, int count, int phase) implements Frame {
        @Override
        public void step(int b, Config rest, List<Config> out) {
            if (b == ']' && phase != AFTER_COMMA && count >= arr.min()) {
                out.add(rest);
            } else if (b == ',' && phase == AFTER_VALUE && count < arr.max()) {
                out.add(Config.push(new ArrBody(arr, count, AFTER_COMMA), rest));
            } else if (phase != AFTER_VALUE && count < arr.max()) {
                int next = arr.min() == 0 && arr.max() == Integer.MAX_VALUE ? 0 : count + 1;
                new Value(arr.items()).step(b, Config.push(new ArrBody(arr, next, AFTER_VALUE), rest), out);
            }
        }

        @Override
        public int minBytes() {
            int item = Shape.min(arr.items());
            int missing = Math.max(0, arr.min() - count);
            return switch (phase) {
                case AFTER_COMMA -> item + Math.max(0, missing - 1) * (item + 1) + 1;
                case AFTER_VALUE -> missing * (item + 1) + 1;
                default -> missing * item + Math.max(0, missing - 1) + 1;
            };
        }

        @Override
        public void complete(java.io.ByteArrayOutputStream out) {
            int missing = Math.max(0, arr.min() - count);
            if (phase == AFTER_COMMA) {
                shortest(arr.items(), out);
                missing = Math.max(0, missing - 1);
            }
            for (int i = 0; i < missing; i++) {
                if (i > 0 || phase != OPEN) {
                    out.write(',');
                }
                shortest(arr.items(), out);
            }
            out.write(']');
        }
    }

    /**
     * Inside a string, after the opening quote. {@code count} characters so far (tracked only when a
     * length applies, so that unbounded strings stay one state), {@code escape}: 0 none, 1 after a
     * backslash, 2..5 hex digits of a {@code \\u} escape still to come; {@code utf8}: continuation bytes
     * still to come.
     */
    record StrBody(int min, int max, int count, int escape, int utf8, boolean counts) implements Frame {
        @Override
        public void step(int b, Config rest, List<Config> out) {
            if (utf8 > 0) {
                if ((b & 0xc0) == 0x80) {
                    out.add(Config.push(new StrBody(min, max, count, 0, utf8 - 1, counts), rest));
                }
                return;
            }
            if (escape == 1) {
                if (b == '"' || b == '\\' || b == '/' || b == 'b' || b == 'f' || b == 'n' || b == 'r' || b == 't') {
                    out.add(Config.push(new StrBody(min, max, next(), 0, 0, counts), rest));
                } else if (b == 'u') {
                    out.add(Config.push(new StrBody(min, max, count, 5, 0, counts), rest));
                }
                return;
            }
            if (escape >= 2) {
                if (Character.digit(b, 16) >= 0 && b < 0x80) {
                    out.add(Config.push(new StrBody(min, max, escape == 2 ? next() : count, escape == 2 ? 0 : escape - 1,
                            0, counts), rest));
                }
                return;
            }
            if (b == '"') {
                if (count >= min) {
                    out.add(rest);
                }
                return;
            }
            if (b < 0x20 || count >= max) {
                return;
            }
            if (b == '\\') {
                out.add(Config.push(new StrBody(min, max, count, 1, 0, counts), rest));
            } else if (b < 0x80) {
                out.add(Config.push(new StrBody(min, max, next(), 0, 0, counts), rest));
            } else if (b >= 0xc2 && b <= 0xdf) {
                out.add(Config.push(new StrBody(min, max, next(), 0, 1, counts), rest));
            } else if (b >= 0xe0 && b <= 0xef) {
                out.add(Config.push(new StrBody(min, max, next(), 0, 2, counts), rest));
            } else if (b >= 0xf0 && b <= 0xf4) {
                out.add(Config.push(new StrBody(min, max, next(), 0, 3, counts), rest));
            }
        }

        private int next() {
            return counts ? count + 1 : count;
        }

        @Override
        public int minBytes() {
            int pending = utf8 + (escape == 1 ? 1 : escape >= 2 ? escape - 1 : 0);
            int chars = Math.max(0, min - count - (escape > 0 ? 1 : 0));
            return pending + chars + 1;
        }

        @Override
        public void complete(java.io.ByteArrayOutputStream out) {
            for (int i = 0; i < utf8; i++) {
                out.write(0x80);
            }
            if (escape == 1) {
                out.write('n');
            } else if (escape >= 2) {
                for (int i = 1; i < escape; i++) {
                    out.write('0');
                }
            }
            for (int i = Math.max(0, min - count - (escape > 0 ? 1 : 0)); i > 0; i--) {
                out.write('a');
            }
            out.write('"');
        }
    }

    /** A number: JSON's grammar, phase by phase; it may end in the phases marked terminal. */
    record NumBody(boolean integer, int phase) implements Frame {
        static final int SIGN = 0;
        static final int ZERO = 1;
        static final int INT = 2;
        static final int DOT = 3;
        static final int FRAC = 4;
        static final int EXP = 5;
        static final int EXP_SIGN = 6;
        static final int EXP_DIGITS = 7;

        @Override
        public void step(int b, Config rest, List<Config> out) {
            boolean digit = b >= '0' && b <= '9';
            int next = switch (phase) {
                case SIGN -> b == '0' ? ZERO : digit ? INT : -1;
                case ZERO -> !integer && b == '.' ? DOT : !integer && (b == 'e' || b == 'E') ? EXP : -1;
                case INT -> digit ? INT : !integer && b == '.' ? DOT : !integer && (b == 'e' || b == 'E') ? EXP : -1;
                case DOT -> digit ? FRAC : -1;
                case FRAC -> digit ? FRAC : b == 'e' || b == 'E' ? EXP : -1;
                case EXP -> b == '+' || b == '-' ? EXP_SIGN : digit ? EXP_DIGITS : -1;
                case EXP_SIGN, EXP_DIGITS -> digit ? EXP_DIGITS : -1;
                default -> -1;
            };
            if (next >= 0) {
                out.add(Config.push(new NumBody(integer, next), rest));
            }
            if (terminal() && !rest.done()) {
                // the number ends here and the byte belongs to what follows it
                rest.top().step(b, rest.rest(), out);
            }
        }

        boolean terminal() {
            return phase == ZERO || phase == INT || phase == FRAC || phase == EXP_DIGITS;
        }

        @Override
        public int minBytes() {
            return terminal() ? 0 : 1;
        }

        @Override
        public void complete(java.io.ByteArrayOutputStream out) {
            if (!terminal()) {
                out.write('0');
            }
        }
    }

    /** One of several literal texts, {@code pos} bytes of which matched. */
    record LitBody(List<byte[]> options, int pos) implements Frame {
        @Override
        public void step(int b, Config rest, List<Config> out) {
            List<byte[]> next = new ArrayList<>(options.size());
            for (byte[] o : options) {
                if (pos < o.length && (o[pos] & 0xff) == b) {
                    if (pos + 1 == o.length) {
                        out.add(rest);
                    } else {
                        next.add(o);
                    }
                }
            }
            if (!next.isEmpty()) {
                out.add(Config.push(new LitBody(List.copyOf(next), pos + 1), rest));
            }
        }

        @Override
        public int minBytes() {
            int min = Integer.MAX_VALUE;
            for (byte[] o : options) {
                min = Math.min(min, o.length - pos);
            }
            return min;
        }

        @Override
        public void complete(java.io.ByteArrayOutputStream out) {
            byte[] best = options.getFirst();
            for (byte[] o : options) {
                if (o.length < best.length) {
                    best = o;
                }
            }
            out.write(best, pos, best.length - pos);
        }
    }
}
