package io.tandem.model.constrain;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The JSON a constraint admits, compiled from a JSON schema (or "any JSON object"): the closed set
 * of value shapes the {@link JsonMatcher} knows. Output is compact JSON: no whitespace between
 * tokens, object members among the declared properties, each at most once.
 */
sealed interface Shape {

    /** Fewest bytes a value of this shape can take. */
    int minBytes();

    /** {@link #minBytes()}, computed once per shape: the matcher asks on every byte. */
    static int min(Shape shape) {
        return switch (shape) {
            case Str s -> s.minBytes();
            case Num n -> 1;
            case AnyValue a -> 1;
            case AnyObj a -> 2;
            default -> MinBytes.CACHE.computeIfAbsent(shape, Shape::minBytes);
        };
    }

    final class MinBytes {
        static final java.util.Map<Shape, Integer> CACHE = java.util.Collections.synchronizedMap(new java.util.WeakHashMap<>());

        private MinBytes() {
        }
    }

    /** An object with declared properties; required ones must all appear. */
    record Obj(List<Prop> props) implements Shape {
        @Override
        public boolean equals(Object o) {
            return this == o;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(this);
        }

        public Obj {
            props = List.copyOf(props);
            if (props.size() > 62) {
                throw new IllegalArgumentException("at most 62 properties per object");
            }
        }

        long requiredMask() {
            long mask = 0;
            for (int i = 0; i < props.size(); i++) {
                if (props.get(i).required()) {
                    mask |= 1L << i;
                }
            }
            return mask;
        }

        @Override
        public int minBytes() {
            int n = 2;
            int count = 0;
            for (Prop p : props) {
                if (p.required()) {
                    n += 1 + p.key().length + p.shape().minBytes();
                    count++;
                }
            }
            return n + Math.max(0, count - 1);
        }
    }

    /** One property: {@code key} is the name as JSON string content followed by {@code ":}, i.e. {@code name":}. */
    record Prop(String name, byte[] key, Shape shape, boolean required) {
        static Prop of(String name, Shape shape, boolean required) {
            String quoted = OutputConstraint.JSON.writeValueAsString(name);
            return new Prop(name, (quoted.substring(1) + ":").getBytes(StandardCharsets.UTF_8), shape, required);
        }
    }

    /** Any JSON object: string keys, any values. */
    record AnyObj() implements Shape {
        @Override
        public int minBytes() {
            return 2;
        }
    }

    record Arr(Shape items, int min, int max) implements Shape {
        @Override
        public boolean equals(Object o) {
            return this == o;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(this);
        }

        @Override
        public int minBytes() {
            return 2 + min * items.minBytes() + Math.max(0, min - 1);
        }
    }

    /** A string of {@code min..max} characters (code points). */
    record Str(int min, int max) implements Shape {
        boolean counts() {
            return min > 0 || max != Integer.MAX_VALUE;
        }

        @Override
        public int minBytes() {
            return 2 + min;
        }
    }

    record Num(boolean integer) implements Shape {
        @Override
        public int minBytes() {
            return 1;
        }
    }

    /** Exactly one of these JSON texts (enum, const, true, false, null). */
    record Lit(List<byte[]> options) implements Shape {
        @Override
        public boolean equals(Object o) {
            return this == o;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(this);
        }

        public Lit {
            options = List.copyOf(options);
            if (options.isEmpty()) {
                throw new IllegalArgumentException("no literal to choose from");
            }
        }

        @Override
        public int minBytes() {
            int min = Integer.MAX_VALUE;
            for (byte[] o : options) {
                min = Math.min(min, o.length);
            }
            return min;
        }
    }

    record AnyOf(List<Shape> options) implements Shape {
        @Override
        public boolean equals(Object o) {
            return this == o;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(this);
        }

        public AnyOf {
            options = List.copyOf(options);
        }

        @Override
        public int minBytes() {
            int min = Integer.MAX_VALUE;
            for (Shape o : options) {
                min = Math.min(min, o.minBytes());
            }
            return min;
        }
    }

    /** Values one after the other (a literal opening, a JSON object, a literal closing, say). */
    record Seq(List<Shape> parts) implements Shape {
        public Seq {
            parts = List.copyOf(parts);
            if (parts.isEmpty()) {
                throw new IllegalArgumentException("a sequence needs a part");
            }
        }

        @Override
        public boolean equals(Object o) {
            return this == o;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(this);
        }

        @Override
        public int minBytes() {
            int n = 0;
            for (Shape p : parts) {
                n += p.minBytes();
            }
            return n;
        }
    }

    /** Any JSON value. */
    record AnyValue() implements Shape {
        @Override
        public int minBytes() {
            return 1;
        }
    }
}
