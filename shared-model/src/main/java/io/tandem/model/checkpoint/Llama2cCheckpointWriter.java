package io.tandem.model.checkpoint;

import io.tandem.model.llama.LayerWeights;
import io.tandem.model.llama.LlamaConfig;
import io.tandem.model.llama.LlamaWeights;
import io.tandem.model.llama.Matrix;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.function.Function;

/**
 * Writes a model as a legacy (version 0) llama2.c checkpoint, the format run.c reads: for
 * test models of any size and for handing Tandem's models to llama2.c tools. Only what v0 can say
 * is written: adjacent-pair RoPE with theta 10000, eps 1e-5 and no QKV bias.
 */
public final class Llama2cCheckpointWriter {

    private Llama2cCheckpointWriter() {
    }

    /** Writes {@code weights} as {@code name} in a new temporary folder, both deleted when the JVM exits. */
    public static Path writeTemporary(LlamaWeights weights, String name) throws IOException {
        Path dir = java.nio.file.Files.createTempDirectory("tandem-model");
        Path file = dir.resolve(name);
        write(weights, file);
        dir.toFile().deleteOnExit();
        file.toFile().deleteOnExit();
        return file;
    }

    public static void write(LlamaWeights weights, Path file) throws IOException {
        LlamaConfig c = weights.config();
        if (c.qkvBias() || c.ropeLayout() != io.tandem.model.llama.RopeLayout.ADJACENT_PAIRS
                || c.ropeTheta() != Llama2cCheckpointReader.ROPE_THETA || c.normEps() != Llama2cCheckpointReader.NORM_EPS) {
            throw new IllegalArgumentException("a llama2.c v0 checkpoint cannot hold " + c.architecture()
                    + " with QKV bias, halves RoPE, or another theta or eps");
        }
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 20)) {
            ByteBuffer header = ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN);
            header.putInt(c.dim()).putInt(c.hiddenDim()).putInt(c.layers()).putInt(c.heads()).putInt(c.kvHeads())
                    .putInt(c.tiedClassifier() ? c.vocabSize() : -c.vocabSize()).putInt(c.contextLength());
            out.write(header.array());
            List<LayerWeights> layers = weights.layers();
            floats(out, weights.tokenEmbedding());
            each(out, layers, LayerWeights::attentionNorm);
            each(out, layers, LayerWeights::wq);
            each(out, layers, LayerWeights::wk);
            each(out, layers, LayerWeights::wv);
            each(out, layers, LayerWeights::wo);
            each(out, layers, LayerWeights::ffnNorm);
            each(out, layers, LayerWeights::w1Gate);
            each(out, layers, LayerWeights::w2Down);
            each(out, layers, LayerWeights::w3Up);
            floats(out, weights.finalNorm());
            // the unused freq_cis_real and freq_cis_imag tables, seq_len * head_size / 2 floats each
            out.write(new byte[c.contextLength() * (c.headDim() / 2) * 2 * Float.BYTES]);
            if (!c.tiedClassifier()) {
                floats(out, weights.classifier());
            }
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
    }

    private static void each(OutputStream out, List<LayerWeights> layers, Function<LayerWeights, Matrix> part)
            throws IOException {
        for (LayerWeights l : layers) {
            floats(out, part.apply(l));
        }
    }

    private static void floats(OutputStream out, Matrix m) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(m.data().length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(m.data());
        out.write(b.array());
    }
}
