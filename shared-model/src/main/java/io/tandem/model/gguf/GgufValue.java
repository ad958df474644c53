package io.tandem.model.gguf;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * One metadata value of a GGUF file: a number, a bool, a string, or an array of any of these (arrays of
 * arrays included). The set is closed, so a {@code switch} over it needs no default branch.
 *
 * <p>Arrays keep primitive storage ({@code long[]}, {@code float[]} ...) rather than boxed elements,
 * because real vocabularies hold arrays of 150k scores or token types. Their accessors hand out copies;
 * {@code get(i)} reads one element without copying.
 */
public sealed interface GgufValue {

    GgufValueType type();

    // ------------------------------------------------------------------ scalars

    /**
     * Any integer type. For {@link GgufValueType#UINT64} the value holds the raw 64 bits, so numbers at or
     * above 2^63 read negative here; {@link GgufMetadata} rejects those where a long is asked for.
     */
    record IntValue(GgufValueType type, long value) implements GgufValue {
        public IntValue {
            Objects.requireNonNull(type, "type");
            checkIntegerRange(type, value, "value");
        }
    }

    /** FLOAT32 or FLOAT64; a FLOAT32 value is stored rounded to float, as the file holds it. */
    record FloatValue(GgufValueType type, double value) implements GgufValue {
        public FloatValue {
            Objects.requireNonNull(type, "type");
            if (!type.isFloat()) {
                throw new IllegalArgumentException(type + " is not a float type");
            }
            if (type == GgufValueType.FLOAT32) {
                value = (float) value;
            }
        }
    }

    record BoolValue(boolean value) implements GgufValue {
        @Override
        public GgufValueType type() {
            return GgufValueType.BOOL;
        }
    }

    record StringValue(String value) implements GgufValue {
        public StringValue {
            Objects.requireNonNull(value, "value");
        }

        @Override
        public GgufValueType type() {
            return GgufValueType.STRING;
        }
    }

    // ------------------------------------------------------------------ arrays

    /** An array value; {@link #type()} is always ARRAY and {@link #elementType()} says what it holds. */
    sealed interface ArrayValue extends GgufValue {

        GgufValueType elementType();

        int length();

        @Override
        default GgufValueType type() {
            return GgufValueType.ARRAY;
        }
    }

    /** An array of any integer type, widened to long (UINT64 elements keep their raw bits). */
    record IntArray(GgufValueType elementType, long[] values) implements ArrayValue {
        public IntArray {
            Objects.requireNonNull(elementType, "elementType");
            values = values.clone();
            for (int i = 0; i < values.length; i++) {
                checkIntegerRange(elementType, values[i], "element " + i);
            }
        }

        @Override
        public long[] values() {
            return values.clone();
        }

        public long get(int index) {
            return values[index];
        }

        @Override
        public int length() {
            return values.length;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof IntArray other && elementType == other.elementType && Arrays.equals(values, other.values);
        }

        @Override
        public int hashCode() {
            return 31 * elementType.hashCode() + Arrays.hashCode(values);
        }

        @Override
        public String toString() {
            return "IntArray[" + elementType + " x " + values.length + "]";
        }
    }

    record Float32Array(float[] values) implements ArrayValue {
        public Float32Array {
            values = values.clone();
        }

        @Override
        public float[] values() {
            return values.clone();
        }

        public float get(int index) {
            return values[index];
        }

        @Override
        public GgufValueType elementType() {
            return GgufValueType.FLOAT32;
        }

        @Override
        public int length() {
            return values.length;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Float32Array other && Arrays.equals(values, other.values);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(values);
        }

        @Override
        public String toString() {
            return "Float32Array[" + values.length + "]";
        }
    }

    record Float64Array(double[] values) implements ArrayValue {
        public Float64Array {
            values = values.clone();
        }

        @Override
        public double[] values() {
            return values.clone();
        }

        public double get(int index) {
            return values[index];
        }

        @Override
        public GgufValueType elementType() {
            return GgufValueType.FLOAT64;
        }

        @Override
        public int length() {
            return values.length;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Float64Array other && Arrays.equals(values, other.values);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(values);
        }

        @Override
        public String toString() {
            return "Float64Array[" + values.length + "]";
        }
    }

    record BoolArray(boolean[] values) implements ArrayValue {
        public BoolArray {
            values = values.clone();
        }

        @Override
        public boolean[] values() {
            return values.clone();
        }

        public boolean get(int index) {
            return values[index];
        }

        @Override
        public GgufValueType elementType() {
            return GgufValueType.BOOL;
        }

        @Override
        public int length() {
            return values.length;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof BoolArray other && Arrays.equals(values, other.values);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(values);
        }

        @Override
        public String toString() {
            return "BoolArray[" + values.length + "]";
        }
    }

    record StringArray(List<String> values) implements ArrayValue {
        public StringArray {
            values = List.copyOf(values);
        }

        public String get(int index) {
            return values.get(index);
        }

        @Override
        public GgufValueType elementType() {
            return GgufValueType.STRING;
        }

        @Override
        public int length() {
            return values.size();
        }

        @Override
        public String toString() {
            return "StringArray[" + values.size() + "]";
        }
    }

    /** An array whose elements are arrays, each with its own element type and length. */
    record NestedArray(List<ArrayValue> values) implements ArrayValue {
        public NestedArray {
            values = List.copyOf(values);
        }

        public ArrayValue get(int index) {
            return values.get(index);
        }

        @Override
        public GgufValueType elementType() {
            return GgufValueType.ARRAY;
        }

        @Override
        public int length() {
            return values.size();
        }
    }

    // ------------------------------------------------------------------ factories

    static IntValue uint8(int value) {
        return new IntValue(GgufValueType.UINT8, value);
    }

    static IntValue int8(int value) {
        return new IntValue(GgufValueType.INT8, value);
    }

    static IntValue uint16(int value) {
        return new IntValue(GgufValueType.UINT16, value);
    }

    static IntValue int16(int value) {
        return new IntValue(GgufValueType.INT16, value);
    }

    static IntValue uint32(long value) {
        return new IntValue(GgufValueType.UINT32, value);
    }

    static IntValue int32(int value) {
        return new IntValue(GgufValueType.INT32, value);
    }

    /** The raw 64 bits of an unsigned value: pass {@code Long.parseUnsignedLong(...)} for values above 2^63. */
    static IntValue uint64(long value) {
        return new IntValue(GgufValueType.UINT64, value);
    }

    static IntValue int64(long value) {
        return new IntValue(GgufValueType.INT64, value);
    }

    static FloatValue float32(float value) {
        return new FloatValue(GgufValueType.FLOAT32, value);
    }

    static FloatValue float64(double value) {
        return new FloatValue(GgufValueType.FLOAT64, value);
    }

    static BoolValue bool(boolean value) {
        return new BoolValue(value);
    }

    static StringValue string(String value) {
        return new StringValue(value);
    }

    static StringArray strings(List<String> values) {
        return new StringArray(values);
    }

    static Float32Array float32s(float... values) {
        return new Float32Array(values);
    }

    static IntArray int32s(int... values) {
        return new IntArray(GgufValueType.INT32, Arrays.stream(values).asLongStream().toArray());
    }

    private static void checkIntegerRange(GgufValueType type, long value, String what) {
        long min;
        long max;
        switch (type) {
            case UINT8 -> { min = 0; max = 0xFF; }
            case INT8 -> { min = Byte.MIN_VALUE; max = Byte.MAX_VALUE; }
            case UINT16 -> { min = 0; max = 0xFFFF; }
            case INT16 -> { min = Short.MIN_VALUE; max = Short.MAX_VALUE; }
            case UINT32 -> { min = 0; max = 0xFFFF_FFFFL; }
            case INT32 -> { min = Integer.MIN_VALUE; max = Integer.MAX_VALUE; }
            case UINT64, INT64 -> { return; }
            default -> throw new IllegalArgumentException(type + " is not an integer type");
        }
        if (value < min || value > max) {
            throw new IllegalArgumentException(what + " " + value + " is outside the range of " + type);
        }
    }
}
