package io.tandem.model.llama;

/**
 * A dense fp32 weight in row-major order, {@code rows} output features by {@code cols} input
 * features, so that {@code y = W x} as llama2.c writes it. Vectors (norm weights, biases) have one row.
 */
public record Matrix(String name, int rows, int cols, float[] data) {

    public Matrix {
        if (rows <= 0 || cols <= 0) {
            throw new IllegalArgumentException(name + ": shape " + rows + "x" + cols + " must be positive");
        }
        if ((long) rows * cols != data.length) {
            throw new IllegalArgumentException(
                    name + ": " + data.length + " values do not fill shape " + rows + "x" + cols);
        }
    }

    public static Matrix vector(String name, float[] data) {
        return new Matrix(name, 1, data.length, data);
    }

    public float get(int row, int col) {
        return data[row * cols + col];
    }

    public long size() {
        return (long) rows * cols;
    }
}
