package io.tandem.model.llama;

import java.lang.ref.WeakReference;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * A dense fp32 weight in row-major order, {@code rows} output features by {@code cols} input
 * features, so that {@code y = W x} as llama2.c writes it. Vectors (norm weights, biases) have one row.
 *
 * <p>A matrix either holds its values or reads them on demand ({@link #lazy}) from a memory-mapped model
 * file, so that a loaded model costs address space rather than heap: a graph builder takes each weight's
 * values in turn and drops them once written. A lazy matrix remembers its last values only weakly, so a
 * caller reading it element by element does not re-read the file each time, yet nothing keeps the values
 * alive once no caller holds them.
 */
public final class Matrix {

    private final String name;
    private final int rows;
    private final int cols;
    private final float[] data;
    private final Supplier<float[]> reader;
    private WeakReference<float[]> recent = new WeakReference<>(null);

    public Matrix(String name, int rows, int cols, float[] data) {
        this(name, rows, cols, Objects.requireNonNull(data, "data"), null);
    }

    private Matrix(String name, int rows, int cols, float[] data, Supplier<float[]> reader) {
        if (rows <= 0 || cols <= 0) {
            throw new IllegalArgumentException(name + ": shape " + rows + "x" + cols + " must be positive");
        }
        if (data != null && (long) rows * cols != data.length) {
            throw new IllegalArgumentException(
                    name + ": " + data.length + " values do not fill shape " + rows + "x" + cols);
        }
        this.name = name;
        this.rows = rows;
        this.cols = cols;
        this.data = data;
        this.reader = reader;
    }

    /**
     * A matrix whose values {@code reader} produces when asked (each call a fresh array of
     * {@code rows * cols} values): a tensor read from a mapped file.
     */
    public static Matrix lazy(String name, int rows, int cols, Supplier<float[]> reader) {
        return new Matrix(name, rows, cols, null, Objects.requireNonNull(reader, "reader"));
    }

    public static Matrix vector(String name, float[] data) {
        return new Matrix(name, 1, data.length, data);
    }

    public String name() {
        return name;
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    /** Whether the values are read on demand rather than held. */
    public boolean isLazy() {
        return data == null;
    }

    /**
     * The values, row-major. For a lazy matrix, read now (or the array a caller still holds from the last
     * read): do not keep it longer than needed, and do not modify it.
     */
    public float[] data() {
        if (data != null) {
            return data;
        }
        synchronized (this) {
            float[] values = recent.get();
            if (values == null) {
                values = reader.get();
                if ((long) rows * cols != values.length) {
                    throw new IllegalStateException(
                            name + ": read " + values.length + " values for shape " + rows + "x" + cols);
                }
                recent = new WeakReference<>(values);
            }
            return values;
        }
    }

    public float get(int row, int col) {
        return data()[row * cols + col];
    }

    public long size() {
        return (long) rows * cols;
    }

    @Override
    public String toString() {
        return "Matrix[" + name + ", " + rows + "x" + cols + (isLazy() ? ", lazy" : "") + "]";
    }
}
