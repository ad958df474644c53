package io.tandem.model.wire;

/** What the cloud runs for a session. */
public sealed interface Mode {

    /** The cloud runs the whole model: token ids go up, token ids come back. */
    record Full() implements Mode {}

    /**
     * The edge runs layers [0, k), the cloud runs [k, L) and samples; activations go up, token ids
     * come back.
     */
    record Split(int firstCloudLayer) implements Mode {
        public Split {
            if (firstCloudLayer < 1) {
                throw new IllegalArgumentException("split layer must be >= 1, was " + firstCloudLayer);
            }
        }
    }

    Full FULL = new Full();

    static Split split(int firstCloudLayer) {
        return new Split(firstCloudLayer);
    }
}
