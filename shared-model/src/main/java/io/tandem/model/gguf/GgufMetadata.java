package io.tandem.model.gguf;

import io.tandem.model.gguf.GgufException.Problem;
import io.tandem.model.gguf.GgufValue.ArrayValue;
import io.tandem.model.gguf.GgufValue.BoolValue;
import io.tandem.model.gguf.GgufValue.Float32Array;
import io.tandem.model.gguf.GgufValue.Float64Array;
import io.tandem.model.gguf.GgufValue.FloatValue;
import io.tandem.model.gguf.GgufValue.IntArray;
import io.tandem.model.gguf.GgufValue.IntValue;
import io.tandem.model.gguf.GgufValue.StringArray;
import io.tandem.model.gguf.GgufValue.StringValue;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;

/**
 * The key-value metadata of a GGUF file, in file order, with typed accessors. A {@code getX} method fails
 * with a {@link GgufException} that names the key (and where the file holds it) when the key is absent
 * or holds another type; a {@code findX} method returns empty when the key is absent but still fails on
 * a wrong type, because a key of the wrong type means a broken file, not an optional setting.
 *
 * <p>Integer accessors accept any integer type of the file (converters write token ids as UINT32 or
 * INT32 depending on their version) and check the range; float accessors accept FLOAT32 and FLOAT64.
 */
public final class GgufMetadata {

    /** The conventional key that overrides the default 32-byte alignment of tensor data. */
    public static final String ALIGNMENT_KEY = "general.alignment";
    public static final String ARCHITECTURE_KEY = "general.architecture";

    private final String source;
    private final Map<String, GgufValue> values;
    private final Map<String, Long> offsets;

    GgufMetadata(String source, Map<String, GgufValue> values, Map<String, Long> offsets) {
        this.source = source;
        this.values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
        this.offsets = Map.copyOf(offsets);
    }

    /** Metadata built in memory (tests, converters): errors name {@code source}. */
    public static GgufMetadata of(String source, Map<String, ? extends GgufValue> values) {
        Objects.requireNonNull(source, "source");
        LinkedHashMap<String, GgufValue> copy = new LinkedHashMap<>();
        values.forEach((key, value) -> copy.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, key)));
        return new GgufMetadata(source, copy, Map.of());
    }

    /** A copy with {@code key} set to {@code value} (replacing or appending), e.g. to override a tokenizer flag. */
    public GgufMetadata with(String key, GgufValue value) {
        LinkedHashMap<String, GgufValue> copy = new LinkedHashMap<>(values);
        copy.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
        return new GgufMetadata(source, copy, offsets);
    }

    /** A copy without {@code key}. */
    public GgufMetadata without(String key) {
        LinkedHashMap<String, GgufValue> copy = new LinkedHashMap<>(values);
        copy.remove(key);
        return new GgufMetadata(source, copy, offsets);
    }

    public String source() {
        return source;
    }

    public int size() {
        return values.size();
    }

    /** Keys in file order. */
    public Set<String> keys() {
        return values.keySet();
    }

    /** All entries in file order, unmodifiable. */
    public Map<String, GgufValue> asMap() {
        return values;
    }

    public boolean contains(String key) {
        return values.containsKey(key);
    }

    public Optional<GgufValue> find(String key) {
        return Optional.ofNullable(values.get(key));
    }

    public GgufValue get(String key) {
        GgufValue value = values.get(key);
        if (value == null) {
            throw new GgufException(Problem.MISSING, source, "metadata key '" + key + "' is missing");
        }
        return value;
    }

    /** Where the file holds the entry for {@code key} (the start of its key string), or -1 if not from a file. */
    public long offsetOf(String key) {
        return offsets.getOrDefault(key, -1L);
    }

    // ------------------------------------------------------------------ strings

    public String getString(String key) {
        return string(key, get(key));
    }

    public Optional<String> findString(String key) {
        GgufValue value = values.get(key);
        return value == null ? Optional.empty() : Optional.of(string(key, value));
    }

    /** {@code general.architecture}, e.g. "llama" or "qwen2". */
    public String architecture() {
        return getString(ARCHITECTURE_KEY);
    }

    private String string(String key, GgufValue value) {
        if (value instanceof StringValue s) {
            return s.value();
        }
        throw wrongType(key, value, "a STRING");
    }

    // ------------------------------------------------------------------ integers

    public long getLong(String key) {
        return asLong(key, get(key));
    }

    public OptionalLong findLong(String key) {
        GgufValue value = values.get(key);
        return value == null ? OptionalLong.empty() : OptionalLong.of(asLong(key, value));
    }

    public int getInt(String key) {
        return asInt(key, get(key));
    }

    public OptionalInt findInt(String key) {
        GgufValue value = values.get(key);
        return value == null ? OptionalInt.empty() : OptionalInt.of(asInt(key, value));
    }

    private long asLong(String key, GgufValue value) {
        if (value instanceof IntValue i) {
            if (i.type() == GgufValueType.UINT64 && i.value() < 0) {
                throw new GgufException(Problem.WRONG_TYPE, source, describe(key) + " holds UINT64 "
                        + Long.toUnsignedString(i.value()) + ", beyond the range of a signed 64-bit integer");
            }
            return i.value();
        }
        throw wrongType(key, value, "an integer");
    }

    private int asInt(String key, GgufValue value) {
        long v = asLong(key, value);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw new GgufException(Problem.WRONG_TYPE, source, describe(key) + " holds " + v + ", beyond the range of an int");
        }
        return (int) v;
    }

    // ------------------------------------------------------------------ floats and bools

    public double getDouble(String key) {
        return asDouble(key, get(key));
    }

    public OptionalDouble findDouble(String key) {
        GgufValue value = values.get(key);
        return value == null ? OptionalDouble.empty() : OptionalDouble.of(asDouble(key, value));
    }

    public float getFloat(String key) {
        return (float) getDouble(key);
    }

    private double asDouble(String key, GgufValue value) {
        if (value instanceof FloatValue f) {
            return f.value();
        }
        throw wrongType(key, value, "a FLOAT32 or FLOAT64");
    }

    public boolean getBool(String key) {
        return asBool(key, get(key));
    }

    public Optional<Boolean> findBool(String key) {
        GgufValue value = values.get(key);
        return value == null ? Optional.empty() : Optional.of(asBool(key, value));
    }

    private boolean asBool(String key, GgufValue value) {
        if (value instanceof BoolValue b) {
            return b.value();
        }
        throw wrongType(key, value, "a BOOL");
    }

    // ------------------------------------------------------------------ arrays

    public ArrayValue getArray(String key) {
        GgufValue value = get(key);
        if (value instanceof ArrayValue array) {
            return array;
        }
        throw wrongType(key, value, "an ARRAY");
    }

    public List<String> getStringArray(String key) {
        ArrayValue array = getArray(key);
        if (array instanceof StringArray strings) {
            return strings.values();
        }
        throw wrongElementType(key, array, "STRING");
    }

    /** A numeric array as floats: FLOAT32 as is, FLOAT64 and integers converted (some converters write int32 scores). */
    public float[] getFloatArray(String key) {
        ArrayValue array = getArray(key);
        return switch (array) {
            case Float32Array f -> f.values();
            case Float64Array d -> {
                float[] out = new float[d.length()];
                for (int i = 0; i < out.length; i++) {
                    out[i] = (float) d.get(i);
                }
                yield out;
            }
            case IntArray ints -> {
                float[] out = new float[ints.length()];
                for (int i = 0; i < out.length; i++) {
                    out[i] = ints.get(i);
                }
                yield out;
            }
            default -> throw wrongElementType(key, array, "a number");
        };
    }

    /** An integer array as ints, each element range-checked. */
    public int[] getIntArray(String key) {
        ArrayValue array = getArray(key);
        if (!(array instanceof IntArray ints)) {
            throw wrongElementType(key, array, "an integer");
        }
        int[] out = new int[ints.length()];
        for (int i = 0; i < out.length; i++) {
            long v = ints.get(i);
            if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE || (ints.elementType() == GgufValueType.UINT64 && v < 0)) {
                throw new GgufException(Problem.WRONG_TYPE, source, describe(key) + " element " + i + " is "
                        + (ints.elementType() == GgufValueType.UINT64 ? Long.toUnsignedString(v) : v) + ", beyond the range of an int");
            }
            out[i] = (int) v;
        }
        return out;
    }

    // ------------------------------------------------------------------ errors

    private String describe(String key) {
        long offset = offsetOf(key);
        return "metadata key '" + key + "'" + (offset >= 0 ? " (entry at byte " + offset + ")" : "");
    }

    private GgufException wrongType(String key, GgufValue value, String wanted) {
        String held = value instanceof ArrayValue a ? "an ARRAY of " + a.elementType() : value.type().toString();
        return new GgufException(Problem.WRONG_TYPE, source, describe(key) + " holds " + held + ", not " + wanted);
    }

    private GgufException wrongElementType(String key, ArrayValue array, String wanted) {
        return new GgufException(Problem.WRONG_TYPE, source, describe(key) + " is an ARRAY of " + array.elementType()
                + ", not of " + wanted);
    }

    @Override
    public String toString() {
        return "GgufMetadata[" + source + ", " + values.size() + " keys]";
    }
}
