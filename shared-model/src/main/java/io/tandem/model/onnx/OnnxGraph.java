package io.tandem.model.onnx;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A small, typed writer for an ONNX graph. Node outputs get unique names; weights are kept apart
 * from the protobuf (as {@link Initializer}s) so a graph of any size can be written with its
 * weights inline or as external data, and hashed without serialising gigabytes.
 */
public final class OnnxGraph {

    /** ONNX TensorProto.DataType values used here (the proto field is a plain int32). */
    public static final int FLOAT = 1;
    public static final int UINT8 = 2;
    public static final int INT8 = 3;
    public static final int INT32 = 6;
    public static final int INT64 = 7;
    public static final int INT4 = 22;

    /**
     * A weight or constant: raw little-endian bytes in ONNX's layout for {@code dataType}, held in memory
     * or, for a graph built into {@link ExternalData}, written there at {@code offset} ({@code length} bytes).
     */
    public record Initializer(String name, int dataType, long[] dims, ByteBuffer data, ExternalData external,
                              long offset, long length) {
        public Initializer {
            if ((data == null) == (external == null)) {
                throw new IllegalArgumentException(name + ": an initializer is held in memory or external, not both");
            }
            data = data == null ? null : data.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
        }

        public Initializer(String name, int dataType, long[] dims, ByteBuffer data) {
            this(name, dataType, dims, data, null, 0, 0);
        }

        /** The bytes; an external initializer's are mapped from its file (resident only as read). */
        @Override
        public ByteBuffer data() {
            return data != null ? data : external.map(offset, length).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
        }

        public boolean isExternal() {
            return external != null;
        }

        public long byteSize() {
            return data != null ? data.remaining() : length;
        }
    }

    private final GraphProto.Builder graph = GraphProto.newBuilder();
    private final List<Initializer> initializers = new ArrayList<>();
    private final Map<String, Integer> nameCounts = new HashMap<>();
    private final Map<String, String> scalarConstants = new HashMap<>();
    private final ExternalData external;
    /** Every initializer's name, type, dims and bytes in order, hashed as they come: see {@link OnnxModel#sha256()}. */
    private final java.security.MessageDigest weightDigest = OnnxModel.sha256Digest();

    public OnnxGraph(String name) {
        this(name, null);
    }

    /**
     * A graph whose weights of {@link OnnxModel#EXTERNAL_MIN_BYTES} or more go to {@code external} as they
     * are added (null: all in memory), so that building holds one weight at a time.
     */
    public OnnxGraph(String name, ExternalData external) {
        graph.setName(name);
        this.external = external;
    }

    /** Where large weights go as they are added, or null when the graph keeps them in memory. */
    ExternalData external() {
        return external;
    }

    java.security.MessageDigest weightDigest() {
        return weightDigest;
    }

    private void digestHeader(String name, int dataType, long[] dims) {
        weightDigest.update(name.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        weightDigest.update((byte) dataType);
        for (long d : dims) {
            weightDigest.update(ByteBuffer.allocate(8).putLong(0, d));
        }
    }

    /** A fresh value name derived from {@code base}. */
    public String fresh(String base) {
        int n = nameCounts.merge(base, 1, Integer::sum);
        return n == 1 ? base : base + "_" + (n - 1);
    }

    /** Declares a graph input; a dimension is a Long (fixed) or a String (symbolic). */
    public String input(String name, int elemType, Object... dims) {
        graph.addInput(valueInfo(name, elemType, dims));
        nameCounts.merge(name, 1, Integer::sum);
        return name;
    }

    /** Declares {@code value} as the graph output {@code name}, renaming through Identity if needed. */
    public String output(String value, String name, int elemType, Object... dims) {
        if (!value.equals(name)) {
            graph.addNode(NodeProto.newBuilder().setOpType("Identity").setName(fresh("Identity"))
                    .addInput(value).addOutput(name));
        }
        graph.addOutput(valueInfo(name, elemType, dims));
        return name;
    }

    public String initializer(String name, int dataType, long[] dims, ByteBuffer data) {
        String unique = fresh(name);
        digestHeader(unique, dataType, dims);
        if (external != null && data.remaining() >= OnnxModel.EXTERNAL_MIN_BYTES) {
            long length = data.remaining();
            long offset = external.append(data, weightDigest);
            initializers.add(new Initializer(unique, dataType, dims.clone(), null, external,
                    offset, length));
        } else {
            weightDigest.update(data.duplicate());
            initializers.add(new Initializer(unique, dataType, dims.clone(), data));
        }
        return unique;
    }

    public String floats(String name, long[] dims, float[] values) {
        if (external != null && (long) values.length * Float.BYTES >= OnnxModel.EXTERNAL_MIN_BYTES) {
            // straight to the file: no heap copy of a large weight's bytes
            String unique = fresh(name);
            digestHeader(unique, FLOAT, dims);
            long offset = external.appendFloats(values, weightDigest);
            initializers.add(new Initializer(unique, FLOAT, dims.clone(), null, external, offset,
                    (long) values.length * Float.BYTES));
            return unique;
        }
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return initializer(name, FLOAT, dims, b);
    }

    /**
     * {@code m}'s values as a float initializer. Into external data a large weight goes a slice of rows at a
     * time, so a lazy matrix is never whole in the heap.
     */
    public String floats(String name, long[] dims, io.tandem.model.llama.Matrix m) {
        long bytes = m.size() * Float.BYTES;
        if (external == null || bytes < OnnxModel.EXTERNAL_MIN_BYTES || !m.isLazy()) {
            return floats(name, dims, m.data());
        }
        String unique = fresh(name);
        digestHeader(unique, FLOAT, dims);
        long offset = external.begin();
        int rowsPerSlice = Math.max(1, (1 << 20) / m.cols());
        float[] slice = new float[Math.min(m.rows(), rowsPerSlice) * m.cols()];
        for (int first = 0; first < m.rows(); first += rowsPerSlice) {
            int n = Math.min(rowsPerSlice, m.rows() - first);
            m.readRows(first, n, slice, 0);
            external.continueFloats(slice, 0, n * m.cols(), weightDigest);
        }
        initializers.add(new Initializer(unique, FLOAT, dims.clone(), null, external, offset, bytes));
        return unique;
    }

    public String longs(String name, long... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.asLongBuffer().put(values);
        return initializer(name, INT64, new long[] {values.length}, b);
    }

    /** A shared scalar (rank 0) float constant. */
    public String scalar(float value) {
        return scalarConstants.computeIfAbsent("f" + Float.floatToIntBits(value), k -> {
            ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, value);
            return initializer("const_f32", FLOAT, new long[0], b);
        });
    }

    /** A shared scalar (rank 0) int64 constant. */
    public String scalarLong(long value) {
        return scalarConstants.computeIfAbsent("l" + value, k -> {
            ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, value);
            return initializer("const_i64", INT64, new long[0], b);
        });
    }

    /** A shared 1-D int64 constant. */
    public String axes(long... values) {
        StringBuilder key = new StringBuilder("a");
        for (long v : values) {
            key.append(v).append(',');
        }
        return scalarConstants.computeIfAbsent(key.toString(), k -> longs("const_axes", values));
    }

    /** Adds a node in the default domain with one output. */
    public String op(String opType, Attr[] attrs, String... inputs) {
        return node("", opType, 1, attrs, inputs)[0];
    }

    public String op(String opType, String... inputs) {
        return op(opType, Attr.NONE, inputs);
    }

    /** Adds a node; an empty input name marks an omitted optional input. */
    public String[] node(String domain, String opType, int outputs, Attr[] attrs, String... inputs) {
        NodeProto.Builder node = NodeProto.newBuilder().setOpType(opType).setName(fresh(opType));
        if (!domain.isEmpty()) {
            node.setDomain(domain);
        }
        for (String in : inputs) {
            node.addInput(in);
        }
        String[] outs = new String[outputs];
        for (int i = 0; i < outputs; i++) {
            outs[i] = fresh(opType.toLowerCase() + "_out");
            node.addOutput(outs[i]);
        }
        for (Attr a : attrs) {
            node.addAttribute(a.proto());
        }
        graph.addNode(node);
        return outs;
    }

    public List<Initializer> initializers() {
        return List.copyOf(initializers);
    }

    /** The graph's structure: nodes, inputs and outputs, with initializers declared by name only. */
    GraphProto.Builder structure() {
        return graph;
    }

    static ValueInfoProto valueInfo(String name, int elemType, Object... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (Object d : dims) {
            TensorShapeProto.Dimension.Builder dim = TensorShapeProto.Dimension.newBuilder();
            if (d instanceof String s) {
                dim.setDimParam(s);
            } else {
                dim.setDimValue(((Number) d).longValue());
            }
            shape.addDim(dim);
        }
        return ValueInfoProto.newBuilder().setName(name)
                .setType(TypeProto.newBuilder().setTensorType(
                        TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(shape)))
                .build();
    }

    static TensorProto.Builder tensorHeader(Initializer init) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(init.name()).setDataType(init.dataType());
        for (long d : init.dims()) {
            t.addDims(d);
        }
        return t;
    }

    /** A node attribute. */
    public record Attr(AttributeProto proto) {
        static final Attr[] NONE = new Attr[0];

        public static Attr i(String name, long value) {
            return new Attr(AttributeProto.newBuilder().setName(name)
                    .setType(AttributeProto.AttributeType.INT).setI(value).build());
        }

        public static Attr f(String name, float value) {
            return new Attr(AttributeProto.newBuilder().setName(name)
                    .setType(AttributeProto.AttributeType.FLOAT).setF(value).build());
        }

        public static Attr ints(String name, long... values) {
            AttributeProto.Builder b = AttributeProto.newBuilder().setName(name)
                    .setType(AttributeProto.AttributeType.INTS);
            for (long v : values) {
                b.addInts(v);
            }
            return new Attr(b.build());
        }
    }

    public static Attr[] attrs(Attr... attrs) {
        return attrs;
    }
}
