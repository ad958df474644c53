package io.tandem.model.gguf;

import java.util.Arrays;
import java.util.Objects;

/**
 * One entry of a GGUF tensor list. {@code dims} are in ggml order: {@code dims[0]} is the innermost,
 * contiguous dimension (the row length), so a PyTorch {@code [out, in]} weight appears as
 * {@code [in, out]}. {@code offset} counts from the start of the file's data section, not the file.
 */
public record GgufTensorInfo(String name, long[] dims, GgmlType type, long offset) {

    public GgufTensorInfo {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        dims = dims.clone();
        for (long dim : dims) {
            if (dim < 0) {
                throw new IllegalArgumentException("tensor '" + name + "' has a negative dimension: " + Arrays.toString(dims));
            }
        }
        if (offset < 0) {
            throw new IllegalArgumentException("tensor '" + name + "' has a negative offset " + offset);
        }
    }

    @Override
    public long[] dims() {
        return dims.clone();
    }

    public int dimCount() {
        return dims.length;
    }

    public long dim(int index) {
        return dims[index];
    }

    /** The number of values; 1 for a tensor with no dimensions. */
    public long elementCount() {
        long count = 1;
        for (long dim : dims) {
            count = Math.multiplyExact(count, dim);
        }
        return count;
    }

    /** Values per row: {@code dims[0]}, or 1 for a tensor with no dimensions. */
    public long rowLength() {
        return dims.length == 0 ? 1 : dims[0];
    }

    /** Rows: the product of every dimension but the first. */
    public long rowCount() {
        long rowLength = rowLength();
        return rowLength == 0 ? 0 : elementCount() / rowLength;
    }

    public long rowBytes() {
        return type.bytesFor(rowLength());
    }

    /** Bytes of data in the file, padding excluded. */
    public long byteSize() {
        return type.bytesFor(elementCount());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufTensorInfo other && name.equals(other.name) && Arrays.equals(dims, other.dims)
                && type == other.type && offset == other.offset;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, Arrays.hashCode(dims), type, offset);
    }

    @Override
    public String toString() {
        return "GgufTensorInfo[" + name + " " + type + " " + Arrays.toString(dims) + " @" + offset + "]";
    }
}
