package io.tandem.model.runtime;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;

/** What one step of a partition produces: logits (last partition) or the residual stream. */
public sealed interface StageOutput {

    int positions();

    /**
     * Logits of the last position ({@code [vocab]}) or of every position ({@code [positions, vocab]}).
     * The buffer may be reused by the next step of the same sequence.
     */
    record Logits(FloatBuffer values, int positions, boolean allPositions) implements StageOutput {
    }

    /** Little-endian fp32 residual stream {@code [positions, dim]}, ready to send as bytes. */
    record Hidden(ByteBuffer bytes, int positions) implements StageOutput {
    }
}
