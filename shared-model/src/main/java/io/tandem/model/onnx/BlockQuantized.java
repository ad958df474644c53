package io.tandem.model.onnx;

import io.tandem.model.llama.Matrix;
import java.util.List;

/**
 * A weight quantized in blocks along its input dimension, the layout ONNX Runtime's MatMulNBits
 * and blocked DequantizeLinear share. For output row {@code n} and input column {@code k}, the
 * value is {@code (code(n,k) - zeroPoint) * scale(n, k / blockSize)}. Scales follow llama.cpp's
 * Q4_0 idea for int4 (the value of largest magnitude maps exactly to code 0) and symmetric absmax
 * for int8, so each block's extreme value is represented without error.
 *
 * @param codes  unsigned codes, row-major {@code [rows][cols]}
 * @param scales row-major {@code [rows][blocksPerRow]}
 */
public record BlockQuantized(WeightPrecision precision, int rows, int cols, byte[] codes, float[] scales) {

    public BlockQuantized {
        if (!precision.quantized()) {
            throw new IllegalArgumentException("fp32 is not a quantized precision");
        }
        if (codes.length != (long) rows * cols || scales.length != (long) rows * blocksPerRow(cols)) {
            throw new IllegalArgumentException("codes or scales do not match a " + rows + "x" + cols + " weight");
        }
    }

    public static int blocksPerRow(int cols) {
        return (cols + WeightPrecision.BLOCK_SIZE - 1) / WeightPrecision.BLOCK_SIZE;
    }

    public int blocksPerRow() {
        return blocksPerRow(cols);
    }

    public int code(int row, int col) {
        return codes[row * cols + col] & 0xFF;
    }

    public float scale(int row, int block) {
        return scales[row * blocksPerRow() + block];
    }

    /** The value the quantized weight stands for, exactly as the runtime computes it. */
    public float dequantized(int row, int col) {
        return (code(row, col) - precision.zeroPoint()) * scale(row, col / WeightPrecision.BLOCK_SIZE);
    }

    /** The fp32 weight this quantized one stands for. */
    public Matrix dequantize(String name) {
        float[] data = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                data[r * cols + c] = dequantized(r, c);
            }
        }
        return new Matrix(name, rows, cols, data);
    }

    /**
     * The rows of {@code parts} one after another: a fused projection (QKV, gate/up) from its pieces. Blocks
     * never span rows, so this equals quantizing the stacked fp32 weight, and pieces a file stored already
     * quantized keep their codes.
     */
    public static BlockQuantized stackRows(List<BlockQuantized> parts) {
        BlockQuantized first = parts.getFirst();
        int rows = 0;
        for (BlockQuantized part : parts) {
            if (part.precision != first.precision || part.cols != first.cols) {
                throw new IllegalArgumentException("cannot stack a " + part.precision.label() + " " + part.rows + "x"
                        + part.cols + " weight under a " + first.precision.label() + " one with " + first.cols + " columns");
            }
            rows += part.rows;
        }
        byte[] codes = new byte[Math.multiplyExact(rows, first.cols)];
        float[] scales = new float[rows * first.blocksPerRow()];
        int codeAt = 0;
        int scaleAt = 0;
        for (BlockQuantized part : parts) {
            System.arraycopy(part.codes, 0, codes, codeAt, part.codes.length);
            System.arraycopy(part.scales, 0, scales, scaleAt, part.scales.length);
            codeAt += part.codes.length;
            scaleAt += part.scales.length;
        }
        return new BlockQuantized(first.precision, rows, first.cols, codes, scales);
    }

    public static BlockQuantized quantize(Matrix w, WeightPrecision precision) {
        int rows = w.rows();
        int cols = w.cols();
        int blocks = blocksPerRow(cols);
        byte[] codes = new byte[rows * cols];
        float[] scales = new float[rows * blocks];
        int zero = precision.zeroPoint();
        int maxCode = (1 << precision.bits()) - 1;
        float[] data = w.data();
        for (int r = 0; r < rows; r++) {
            for (int b = 0; b < blocks; b++) {
                int start = r * cols + b * WeightPrecision.BLOCK_SIZE;
                int end = r * cols + Math.min(cols, (b + 1) * WeightPrecision.BLOCK_SIZE);
                float extreme = 0;
                for (int i = start; i < end; i++) {
                    if (Math.abs(data[i]) > Math.abs(extreme)) {
                        extreme = data[i];
                    }
                }
                // int4: the extreme maps to code 0 (-8), using the whole range as Q4_0 does;
                // int8: symmetric around 128 with +-127, so the sign does not matter.
                float scale = precision == WeightPrecision.INT4 ? extreme / -8f : Math.abs(extreme) / 127f;
                float inverse = scale == 0 ? 0 : 1f / scale;
                scales[r * blocks + b] = scale;
                for (int i = start; i < end; i++) {
                    int q = Math.round(data[i] * inverse) + zero;
                    codes[i] = (byte) Math.max(0, Math.min(maxCode, q));
                }
            }
        }
        return new BlockQuantized(precision, rows, cols, codes, scales);
    }
}
