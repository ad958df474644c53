package io.tandem.model.gguf;

import io.tandem.model.gguf.GgufException.Problem;
import io.tandem.model.gguf.GgufValue.ArrayValue;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parses the header of a GGUF v2/v3 file (little-endian): magic, version, counts, metadata entries,
 * tensor infos. Reads through a buffer that refills from the channel, so a header of any size is parsed
 * without mapping or loading the file, and every read is checked against the file size first: a
 * truncated or corrupt file fails with the entry being read and its byte offset, never with an
 * IndexOutOfBounds or an OutOfMemoryError from a garbage count.
 */
final class GgufParser {

    /** "GGUF" read as a little-endian uint32. */
    static final int MAGIC = 0x46554747;
    static final int DEFAULT_ALIGNMENT = 32;
    /** ggml tensors have at most four dimensions. */
    static final int MAX_DIMS = 4;
    /** Arrays of arrays deeper than this are refused: no converter writes them, and recursion must end. */
    private static final int MAX_NESTING = 8;
    /**
     * Metadata arrays and strings longer than these are refused as corrupt. Real files stay far below
     * (a 256k vocabulary, a chat template of some kilobytes); without a bound, a damaged length inside
     * a multi-gigabyte file would pass the "fits in the file" check and end in an OutOfMemoryError.
     */
    private static final int MAX_ARRAY_LENGTH = 1 << 24;
    private static final int MAX_STRING_BYTES = 1 << 26;
    /** The smallest tensor info: name length, n_dims, type and offset. */
    private static final int MIN_TENSOR_INFO_BYTES = 8 + 4 + 4 + 8;
    /** The smallest metadata entry: key length, value type and a one-byte value. */
    private static final int MIN_ENTRY_BYTES = 8 + 4 + 1;

    private final FileChannel channel;
    private final String source;
    private final long fileSize;
    private ByteBuffer buffer;
    /** File offset of buffer index 0. */
    private long bufferStart;
    private long position;
    /** What is being read, for error messages: set once per entry so that no string is built per element. */
    private String item = "header";

    private GgufParser(FileChannel channel, String source) throws IOException {
        this.channel = channel;
        this.source = source;
        this.fileSize = channel.size();
        this.buffer = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN).limit(0);
    }

    static GgufHeader parse(FileChannel channel, String source) throws IOException {
        return new GgufParser(channel, source).parse();
    }

    private GgufHeader parse() throws IOException {
        if (fileSize < 4) {
            throw new GgufException(Problem.TRUNCATED, source, "the file is " + fileSize
                    + " bytes, too short for the 4-byte GGUF magic");
        }
        int magic = readInt32("the magic");
        if (magic != MAGIC) {
            throw new GgufException(Problem.BAD_MAGIC, source, "the file starts with bytes " + hex(magic)
                    + ", not the GGUF magic 47 47 55 46 (\"GGUF\")");
        }
        int version = readInt32("the version");
        checkVersion(version);
        long tensorCount = readCount("the tensor count", MIN_TENSOR_INFO_BYTES);
        long entryCount = readCount("the metadata entry count", MIN_ENTRY_BYTES);

        Map<String, GgufValue> values = new LinkedHashMap<>();
        Map<String, Long> offsets = new HashMap<>();
        for (long i = 0; i < entryCount; i++) {
            long entryStart = position;
            item = "metadata entry " + i + " (at byte " + entryStart + ")";
            String key = readString("its key");
            item = "metadata key '" + key + "' (entry at byte " + entryStart + ")";
            requireFirst(offsets, key, entryStart, "entry");
            long typeAt = position;
            int typeId = readInt32("its value type");
            GgufValueType type = GgufValueType.fromId(typeId);
            if (type == null) {
                throw new GgufException(Problem.MALFORMED, source, item + " has unknown value type " + Integer.toUnsignedString(typeId)
                        + " at byte " + typeAt);
            }
            values.put(key, readValue(type, 0));
        }
        GgufMetadata metadata = new GgufMetadata(source, values, offsets);
        int alignment = alignment(metadata);

        List<GgufTensorInfo> tensors = new ArrayList<>((int) Math.min(tensorCount, 4096));
        Map<String, Long> tensorInfoOffsets = new HashMap<>();
        for (long i = 0; i < tensorCount; i++) {
            long infoStart = position;
            item = "tensor info " + i + " (at byte " + infoStart + ")";
            String name = readString("its name");
            item = "tensor '" + name + "' (info at byte " + infoStart + ")";
            requireFirst(tensorInfoOffsets, name, infoStart, "info");
            tensors.add(readTensorInfo(name, alignment));
        }
        long dataOffset = alignUp(position, alignment);
        checkTensorData(tensors, tensorInfoOffsets, dataOffset);
        return new GgufHeader(version, metadata, tensors, alignment, dataOffset);
    }

    private void checkVersion(int version) {
        if (version == 2 || version == 3) {
            return;
        }
        int swapped = Integer.reverseBytes(version);
        if (swapped >= 1 && swapped <= 3) {
            throw new GgufException(Problem.UNSUPPORTED_VERSION, source, "the file is a big-endian GGUF (version "
                    + swapped + " byte-swapped); only little-endian files are supported");
        }
        if (version == 1) {
            throw new GgufException(Problem.UNSUPPORTED_VERSION, source, "GGUF version 1 (32-bit counts, from 2023) "
                    + "is not supported; convert the model again for version 3");
        }
        throw new GgufException(Problem.UNSUPPORTED_VERSION, source, "GGUF version " + Integer.toUnsignedString(version)
                + " at byte 4 is not supported (this reader reads versions 2 and 3)");
    }

    private long readCount(String what, int minBytesEach) throws IOException {
        long at = position;
        long count = readInt64(what);
        long remaining = fileSize - position;
        if (count < 0 || count > remaining / minBytesEach) {
            throw new GgufException(Problem.MALFORMED, source, what + " at byte " + at + " is " + Long.toUnsignedString(count)
                    + ", more than the " + remaining + " bytes left in the file can hold");
        }
        return count;
    }

    private int alignment(GgufMetadata metadata) {
        if (!metadata.contains(GgufMetadata.ALIGNMENT_KEY)) {
            return DEFAULT_ALIGNMENT;
        }
        GgufValue held = metadata.get(GgufMetadata.ALIGNMENT_KEY);
        String where = "metadata key '" + GgufMetadata.ALIGNMENT_KEY + "' (entry at byte " + metadata.offsetOf(GgufMetadata.ALIGNMENT_KEY) + ")";
        if (!(held instanceof GgufValue.IntValue integer)) {
            throw new GgufException(Problem.MALFORMED, source, where + " holds " + held.type() + ", not an integer");
        }
        long value = integer.value();
        if (value <= 0 || value > (1 << 30) || (value & (value - 1)) != 0) {
            throw new GgufException(Problem.MALFORMED, source, where + " is " + Long.toUnsignedString(value)
                    + ", not a power of two up to 2^30");
        }
        return (int) value;
    }

    private GgufTensorInfo readTensorInfo(String name, int alignment) throws IOException {
        long dimsAt = position;
        int dimCount = readInt32("its dimension count");
        if (dimCount < 0 || dimCount > MAX_DIMS) {
            throw new GgufException(Problem.MALFORMED, source, item + " has " + Integer.toUnsignedString(dimCount)
                    + " dimensions (at byte " + dimsAt + "); ggml tensors have at most " + MAX_DIMS);
        }
        long[] dims = new long[dimCount];
        for (int d = 0; d < dimCount; d++) {
            long at = position;
            dims[d] = readInt64("dimension " + d);
            if (dims[d] < 0) {
                throw new GgufException(Problem.MALFORMED, source, item + " dimension " + d + " at byte " + at + " is "
                        + Long.toUnsignedString(dims[d]) + ", beyond any real tensor");
            }
        }
        long typeAt = position;
        int typeId = readInt32("its type");
        GgmlType type = GgmlType.fromId(typeId);
        if (type == null) {
            throw new GgufException(Problem.UNKNOWN_TENSOR_TYPE, source, item + " has ggml type id "
                    + Integer.toUnsignedString(typeId) + " (at byte " + typeAt + "), which this reader does not know");
        }
        long offsetAt = position;
        long offset = readInt64("its data offset");
        long elements = 1;
        for (long dim : dims) {
            if (dim != 0 && elements > Long.MAX_VALUE / dim) {
                throw new GgufException(Problem.MALFORMED, source, item + " has dimensions " + java.util.Arrays.toString(dims)
                        + " whose product overflows 64 bits");
            }
            elements *= dim;
        }
        long rowLength = dimCount > 0 ? dims[0] : 1;
        if (rowLength % type.blockSize() != 0) {
            throw new GgufException(Problem.MALFORMED, source, item + " has rows of " + rowLength + " values, not a multiple of the "
                    + type + " block size " + type.blockSize());
        }
        if (offset < 0 || offset % alignment != 0) {
            throw new GgufException(Problem.MALFORMED, source, item + " has data offset " + Long.toUnsignedString(offset)
                    + " (at byte " + offsetAt + "), not a multiple of the alignment " + alignment);
        }
        if (elements / type.blockSize() > Long.MAX_VALUE / type.typeSize()) {
            throw new GgufException(Problem.MALFORMED, source, item + " is too large to address: " + elements + " values of " + type);
        }
        return new GgufTensorInfo(name, dims, type, offset);
    }

    private void checkTensorData(List<GgufTensorInfo> tensors, Map<String, Long> infoOffsets, long dataOffset) {
        long dataSize = fileSize - dataOffset;
        for (GgufTensorInfo tensor : tensors) {
            long size = tensor.byteSize();
            if (tensor.offset() > dataSize || size > dataSize - tensor.offset()) {
                long start = dataOffset + tensor.offset();
                throw new GgufException(Problem.TRUNCATED, source, "tensor '" + tensor.name() + "' (info at byte "
                        + infoOffsets.get(tensor.name()) + ", " + tensor.type() + " " + java.util.Arrays.toString(tensor.dims())
                        + "): its " + size + " bytes of data at byte " + start + " run past the end of the file at byte " + fileSize);
            }
        }
    }

    // ------------------------------------------------------------------ values

    private GgufValue readValue(GgufValueType type, int depth) throws IOException {
        return switch (type) {
            case UINT8 -> new GgufValue.IntValue(type, readByte("its value") & 0xFF);
            case INT8 -> new GgufValue.IntValue(type, readByte("its value"));
            case UINT16 -> new GgufValue.IntValue(type, readInt16("its value") & 0xFFFF);
            case INT16 -> new GgufValue.IntValue(type, readInt16("its value"));
            case UINT32 -> new GgufValue.IntValue(type, readInt32("its value") & 0xFFFF_FFFFL);
            case INT32 -> new GgufValue.IntValue(type, readInt32("its value"));
            case UINT64, INT64 -> new GgufValue.IntValue(type, readInt64("its value"));
            case FLOAT32 -> new GgufValue.FloatValue(type, Float.intBitsToFloat(readInt32("its value")));
            case FLOAT64 -> new GgufValue.FloatValue(type, Double.longBitsToDouble(readInt64("its value")));
            case BOOL -> new GgufValue.BoolValue(readBool());
            case STRING -> new GgufValue.StringValue(readString("its value"));
            case ARRAY -> readArray(depth);
        };
    }

    private boolean readBool() throws IOException {
        long at = position;
        byte b = readByte("its value");
        if (b != 0 && b != 1) {
            throw new GgufException(Problem.MALFORMED, source, item + " has bool byte " + (b & 0xFF) + " at byte " + at
                    + "; a GGUF bool is 0 or 1");
        }
        return b == 1;
    }

    private ArrayValue readArray(int depth) throws IOException {
        if (depth >= MAX_NESTING) {
            throw new GgufException(Problem.MALFORMED, source, item + " nests arrays more than " + MAX_NESTING + " deep at byte " + position);
        }
        long typeAt = position;
        int typeId = readInt32("its array element type");
        GgufValueType elementType = GgufValueType.fromId(typeId);
        if (elementType == null) {
            throw new GgufException(Problem.MALFORMED, source, item + " is an array of unknown element type "
                    + Integer.toUnsignedString(typeId) + " (at byte " + typeAt + ")");
        }
        long countAt = position;
        long count = readInt64("its array length");
        long remaining = fileSize - position;
        if (count < 0 || count > MAX_ARRAY_LENGTH || count > remaining / elementType.minBytes()) {
            boolean tooLong = count < 0 || count > MAX_ARRAY_LENGTH;
            throw new GgufException(tooLong ? Problem.MALFORMED : Problem.TRUNCATED, source, item + " is an array of "
                    + Long.toUnsignedString(count) + " " + elementType + " (length at byte " + countAt + "), "
                    + (tooLong ? "more than the " + MAX_ARRAY_LENGTH + " elements this reader accepts"
                            : "which needs at least " + elementType.minBytes() + " bytes each, but only " + remaining
                                    + " bytes remain before the file ends at byte " + fileSize));
        }
        int n = (int) count;
        switch (elementType) {
            case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> {
                long[] values = new long[n];
                for (int i = 0; i < n; i++) {
                    values[i] = switch (elementType) {
                        case UINT8 -> readByte("array element") & 0xFF;
                        case INT8 -> readByte("array element");
                        case UINT16 -> readInt16("array element") & 0xFFFF;
                        case INT16 -> readInt16("array element");
                        case UINT32 -> readInt32("array element") & 0xFFFF_FFFFL;
                        case INT32 -> readInt32("array element");
                        default -> readInt64("array element");
                    };
                }
                return new GgufValue.IntArray(elementType, values);
            }
            case FLOAT32 -> {
                float[] values = new float[n];
                for (int i = 0; i < n; i++) {
                    values[i] = Float.intBitsToFloat(readInt32("array element"));
                }
                return new GgufValue.Float32Array(values);
            }
            case FLOAT64 -> {
                double[] values = new double[n];
                for (int i = 0; i < n; i++) {
                    values[i] = Double.longBitsToDouble(readInt64("array element"));
                }
                return new GgufValue.Float64Array(values);
            }
            case BOOL -> {
                boolean[] values = new boolean[n];
                for (int i = 0; i < n; i++) {
                    values[i] = readBool();
                }
                return new GgufValue.BoolArray(values);
            }
            case STRING -> {
                List<String> values = new ArrayList<>(Math.min(n, 1 << 16));
                for (int i = 0; i < n; i++) {
                    values.add(readString("array element"));
                }
                return new GgufValue.StringArray(values);
            }
            case ARRAY -> {
                List<ArrayValue> values = new ArrayList<>(Math.min(n, 1 << 16));
                for (int i = 0; i < n; i++) {
                    values.add(readArray(depth + 1));
                }
                return new GgufValue.NestedArray(values);
            }
            default -> throw new AssertionError(elementType);
        }
    }

    // ------------------------------------------------------------------ primitives

    private String readString(String what) throws IOException {
        long at = position;
        long length = readInt64(what + " length");
        long remaining = fileSize - position;
        if (length < 0 || length > remaining) {
            Problem problem = length >= 0 ? Problem.TRUNCATED : Problem.MALFORMED;
            throw new GgufException(problem, source, item + ": " + what + " is a string of " + Long.toUnsignedString(length)
                    + " bytes (length at byte " + at + "), but only " + remaining + " bytes remain before the file ends at byte "
                    + fileSize);
        }
        if (length > MAX_STRING_BYTES) {
            throw new GgufException(Problem.MALFORMED, source, item + ": " + what + " is a string of " + length
                    + " bytes (length at byte " + at + "), more than the " + MAX_STRING_BYTES + " this reader accepts");
        }
        int n = (int) length;
        int index = take(n, what);
        return new String(buffer.array(), buffer.arrayOffset() + index, n, StandardCharsets.UTF_8);
    }

    /** Records where {@code name} was seen; a name seen before is a malformed file. */
    private void requireFirst(Map<String, Long> seen, String name, long at, String what) {
        Long first = seen.putIfAbsent(name, at);
        if (first != null) {
            throw new GgufException(Problem.MALFORMED, source, item + " appears twice; the first " + what + " is at byte " + first);
        }
    }

    private byte readByte(String what) throws IOException {
        return buffer.get(take(1, what));
    }

    private short readInt16(String what) throws IOException {
        return buffer.getShort(take(2, what));
    }

    private int readInt32(String what) throws IOException {
        return buffer.getInt(take(4, what));
    }

    private long readInt64(String what) throws IOException {
        return buffer.getLong(take(8, what));
    }

    /** Consumes {@code n} bytes; returns where they start in the buffer. */
    private int take(int n, String what) throws IOException {
        ensure(n, what);
        int index = (int) (position - bufferStart);
        position += n;
        return index;
    }

    /** Makes {@code n} bytes at {@link #position} available in the buffer, or fails naming what was being read. */
    private void ensure(int n, String what) throws IOException {
        if (position - bufferStart + n <= buffer.limit()) {
            return;
        }
        if (fileSize - position < n) {
            throw new GgufException(Problem.TRUNCATED, source, item + ": " + what + " at byte " + position + " needs " + n
                    + " bytes, but the file ends at byte " + fileSize);
        }
        if (n > buffer.capacity()) {
            buffer = ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
        }
        buffer.clear();
        bufferStart = position;
        long want = Math.min(buffer.capacity(), fileSize - position);
        buffer.limit((int) want);
        while (buffer.hasRemaining()) {
            int read = channel.read(buffer, bufferStart + buffer.position());
            if (read < 0) {
                // the file shrank after its size was taken
                throw new GgufException(Problem.TRUNCATED, source, item + ": " + what + " at byte " + position
                        + ": the file ended at byte " + (bufferStart + buffer.position()) + " while being read");
            }
        }
        buffer.flip();
    }

    static long alignUp(long offset, int alignment) {
        return (offset + alignment - 1) / alignment * alignment;
    }

    private static String hex(int littleEndian) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < 4; i++) {
            if (i > 0) {
                out.append(' ');
            }
            out.append(String.format("%02x", (littleEndian >>> (8 * i)) & 0xFF));
        }
        return out.toString();
    }
}
