package io.tandem.model.onnx;

import io.tandem.model.llama.LayerWeights;
import io.tandem.model.llama.LlamaWeights;
import io.tandem.model.llama.Matrix;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * How the model file stored its weights, where that matters to a graph: stored blocks the builder can use
 * as they are, and, for the manifest, what each stored type went through on its way into the graph.
 *
 * <p>GGUF Q4_0 is exactly the int4 layout of the graphs (blocks of 32 along the input, one scale, value
 * {@code (q - 8) * d}) and Q8_0 exactly the int8 one ({@code q * d}, i.e. code {@code q + 128}), so those
 * tensors reach an int4 or int8 graph with their codes and scales untouched: the graph computes the
 * file's own weights, not a requantization of them.
 *
 * @param storedTypes stored type of each weight by matrix name ("Q4_0", "F16" ...); empty for plain fp32 sources
 * @param exactBlocks weights stored in one of the graphs' quantized layouts, by matrix name
 */
public record WeightSource(Map<String, String> storedTypes, Map<String, BlockQuantized> exactBlocks) {

    /** A source whose weights are fp32 as loaded: everything quantized is quantized here. */
    public static final WeightSource FP32 = new WeightSource(Map.of(), Map.of());

    public WeightSource {
        storedTypes = Map.copyOf(storedTypes);
        exactBlocks = exactBlocks instanceof StoredBlocks ? exactBlocks : Map.copyOf(exactBlocks);
    }

    /**
     * Blocks read from the model file when asked for, each time afresh, so that a loaded model holds none of
     * them: {@code get} reads one weight's blocks; shapes and precisions are known without reading.
     */
    public static Map<String, BlockQuantized> storedBlocks(Map<String, Stored> stored) {
        return new StoredBlocks(new LinkedHashMap<>(stored));
    }

    /** One weight's blocks in the file: their layout, and how to read them. */
    public record Stored(WeightPrecision precision, int rows, int cols, java.util.function.Supplier<BlockQuantized> reader) {
    }

    private static final class StoredBlocks extends java.util.AbstractMap<String, BlockQuantized> {
        private final Map<String, Stored> stored;

        StoredBlocks(Map<String, Stored> stored) {
            this.stored = java.util.Collections.unmodifiableMap(stored);
        }

        @Override
        public BlockQuantized get(Object key) {
            Stored s = stored.get(key);
            return s == null ? null : s.reader().get();
        }

        @Override
        public boolean containsKey(Object key) {
            return stored.containsKey(key);
        }

        @Override
        public int size() {
            return stored.size();
        }

        // a map whose values are read from disk: equality, hashing and printing must not read them all
        @Override
        public boolean equals(Object o) {
            return this == o;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(this);
        }

        @Override
        public String toString() {
            return "stored blocks of " + stored.keySet();
        }

        boolean matches(String name, WeightPrecision precision, int rows, int cols) {
            Stored s = stored.get(name);
            return s != null && s.precision() == precision && s.rows() == rows && s.cols() == cols;
        }

        @Override
        public java.util.Set<Entry<String, BlockQuantized>> entrySet() {
            return new java.util.AbstractSet<>() {
                @Override
                public java.util.Iterator<Entry<String, BlockQuantized>> iterator() {
                    var names = stored.keySet().iterator();
                    return new java.util.Iterator<>() {
                        @Override
                        public boolean hasNext() {
                            return names.hasNext();
                        }

                        @Override
                        public Entry<String, BlockQuantized> next() {
                            String name = names.next();
                            return Map.entry(name, stored.get(name).reader().get());
                        }
                    };
                }

                @Override
                public int size() {
                    return stored.size();
                }
            };
        }
    }

    /** {@code w} in {@code precision}: the stored blocks when the file has them in that layout, else quantized now. */
    public BlockQuantized quantize(Matrix w, WeightPrecision precision) {
        BlockQuantized stored = exactBlock(w, precision);
        return stored != null ? stored : BlockQuantized.quantize(w, precision);
    }

    private BlockQuantized exactBlock(Matrix w, WeightPrecision precision) {
        if (exactBlocks instanceof StoredBlocks lazy) {
            return lazy.matches(w.name(), precision, w.rows(), w.cols()) ? lazy.get(w.name()) : null;
        }
        BlockQuantized stored = exactBlocks.get(w.name());
        return stored != null && stored.precision() == precision && stored.rows() == w.rows() && stored.cols() == w.cols()
                ? stored : null;
    }

    private boolean hasExactBlock(Matrix w, WeightPrecision precision) {
        if (exactBlocks instanceof StoredBlocks lazy) {
            return lazy.matches(w.name(), precision, w.rows(), w.cols());
        }
        return exactBlock(w, precision) != null;
    }

    /**
     * What happened to each stored type in a graph of {@code precision}, one line per stored type and
     * outcome, e.g. {@code "Q4_0 -> int4, stored blocks used as they are: 35 projections"} or
     * {@code "Q6_K -> dequantized to fp32, requantized to int4: 1 classifier"}. Empty for plain fp32 sources.
     */
    public List<String> conversions(LlamaWeights weights, WeightPrecision precision) {
        if (storedTypes.isEmpty()) {
            return List.of();
        }
        Map<String, Map<String, Integer>> rolesByOutcome = new LinkedHashMap<>();
        for (Use use : uses(weights)) {
            String type = storedTypes.get(use.matrix().name());
            if (type == null) {
                continue;
            }
            String outcome = type + " -> " + outcome(use, type, precision);
            rolesByOutcome.computeIfAbsent(outcome, k -> new LinkedHashMap<>()).merge(use.role(), 1, Integer::sum);
        }
        List<String> lines = new ArrayList<>();
        rolesByOutcome.forEach((outcome, roles) -> {
            List<String> counted = new ArrayList<>();
            roles.forEach((role, count) -> counted.add(count + " " + role + (count == 1 ? "" : "s")));
            lines.add(outcome + ": " + String.join(", ", counted));
        });
        return List.copyOf(lines);
    }

    private String outcome(Use use, String type, WeightPrecision precision) {
        boolean asStored = type.equals("F32");
        if (!use.projection() || !precision.quantized()) {
            return asStored ? "fp32 as stored" : "dequantized to fp32";
        }
        if (hasExactBlock(use.matrix(), precision)) {
            return precision.label() + ", stored blocks used as they are";
        }
        return asStored ? "quantized to " + precision.label() : "dequantized to fp32, requantized to " + precision.label();
    }

    /** One place a weight is used in the graph: projections go through the graph's precision, the rest stays fp32. */
    private record Use(Matrix matrix, String role, boolean projection) {
        Use {
            Objects.requireNonNull(matrix, role);
        }
    }

    private static List<Use> uses(LlamaWeights weights) {
        List<Use> uses = new ArrayList<>();
        uses.add(new Use(weights.tokenEmbedding(), "token embedding", false));
        for (LayerWeights layer : weights.layers()) {
            uses.add(new Use(layer.attentionNorm(), "norm", false));
            uses.add(new Use(layer.ffnNorm(), "norm", false));
            for (Matrix m : new Matrix[] {layer.wq(), layer.wk(), layer.wv(), layer.wo(), layer.w1Gate(), layer.w2Down(),
                    layer.w3Up()}) {
                uses.add(new Use(m, "projection", true));
            }
            if (layer.hasQkvBias()) {
                for (Matrix m : new Matrix[] {layer.bq(), layer.bk(), layer.bv()}) {
                    uses.add(new Use(m, "bias", false));
                }
            }
        }
        uses.add(new Use(weights.finalNorm(), "norm", false));
        uses.add(new Use(weights.classifierOrEmbedding(), "classifier", true));
        return uses;
    }
}
