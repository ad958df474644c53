package io.tandem.model.runtime;

import java.nio.ByteBuffer;

/** What one step of a partition consumes: token ids (first partition) or the residual stream. */
public sealed interface StageInput {

    int positions();

    record Tokens(long[] ids) implements StageInput {
        public Tokens {
            if (ids.length == 0) {
                throw new IllegalArgumentException("a step needs at least one token");
            }
        }

        @Override
        public int positions() {
            return ids.length;
        }
    }

    /** Little-endian fp32 values {@code [positions, dim]}, as they travel between partitions. */
    record Hidden(ByteBuffer bytes, int positions) implements StageInput {
        public Hidden {
            if (positions <= 0) {
                throw new IllegalArgumentException("a step needs at least one position");
            }
        }
    }
}
