package io.tandem.model.onnx;

/** The names of a decoder graph's inputs and outputs: the contract between builder and runtime. */
public final class GraphNames {
    public static final String INPUT_IDS = "input_ids";
    public static final String HIDDEN_IN = "hidden_in";
    public static final String LOGITS = "logits";
    public static final String HIDDEN_OUT = "hidden_out";
    public static final String SEQUENCE = "sequence";
    public static final String PAST = "past_sequence";
    public static final String TOTAL = "total_sequence";
    /** Batched graphs: the dynamic batch dimension, and each row's real past length (int64 [batch]). */
    public static final String BATCH = "batch";
    public static final String PAST_LENGTHS = "past_lengths";
    /**
     * int64 {@code [1]} input of the one-sequence GroupQueryAttention graphs built for sessions (not
     * exports): how many of the past's positions are real, so the past and present may be one
     * preallocated buffer of a larger capacity, written in place; -1 means the past's whole length.
     */
    public static final String PAST_LENGTH = "past_length";

    private GraphNames() {
    }

    public static String pastKey(int layer) {
        return "past_key." + layer;
    }

    public static String pastValue(int layer) {
        return "past_value." + layer;
    }

    public static String presentKey(int layer) {
        return "present_key." + layer;
    }

    public static String presentValue(int layer) {
        return "present_value." + layer;
    }
}
