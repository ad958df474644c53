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
    private final RowReader reader;
    private WeakReference<float[]> recent = new WeakReference<>(null);

    public Matrix(String name, int rows, int cols, float[] data) {
        this(name, rows, cols, Objects.requireNonNull(data, "data"), null);
    }

    /** Reads rows of a lazy matrix from where it is stored. */
    @FunctionalInterface
    public interface RowReader {
        /** Writes rows {@code [first, first + count)} ({@code count * cols} values) into {@code dst} at {@code offset}. */
        void read(int first, int count, float[] dst, int offset);
    }

    private Matrix(String name, int rows, int cols, float[] data, RowReader reader) {
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
        Objects.requireNonNull(reader, "reader");
        return new Matrix(name, rows, cols, null, (first, count, dst, offset) -> {
            float[] all = reader.get();
            System.arraycopy(all, first * cols, dst, offset, count * cols);
        });
    }

    /** A matrix whose rows {@code reader} reads when asked, a range at a time. */
    public static Matrix lazyRows(String name, int rows, int cols, RowReader reader) {
        return new Matrix(name, rows, cols, null, Objects.requireNonNull(reader, "reader"));
    }

    /**
     * Rows {@code [first, first + count)} into {@code dst} at {@code offset}: a lazy matrix reads just those,
     * so a large weight can be copied somewhere a slice at a time.
     */
    public void readRows(int first, int count, float[] dst, int offset) {
        if (first < 0 || count < 0 || first + count > rows) {
            throw new IndexOutOfBoundsException(name + ": rows [" + first + ", " + (first + count) + ") of " + rows);
        }
        if (data != null) {
            System.arraycopy(data, first * cols, dst, offset, count * cols);
            return;
        }
        float[] recentValues = recent.get();
        if (recentValues != null) {
            System.arraycopy(recentValues, first * cols, dst, offset, count * cols);
        } else {
            reader.read(first, count, dst, offset);
        }
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
                values = new float[Math.toIntExact((long) rows * cols)];
                reader.read(0, rows, values, 0);
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
