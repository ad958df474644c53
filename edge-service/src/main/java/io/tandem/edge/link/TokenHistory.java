package io.tandem.edge.link;

import java.util.Arrays;

/** Every token fed to a sequence so far, so that another model can re-read them when it takes over. */
final class TokenHistory {

    private long[] tokens = new long[64];
    private int length;

    void append(long[] more) {
        if (length + more.length > tokens.length) {
            tokens = Arrays.copyOf(tokens, Math.max(tokens.length * 2, length + more.length));
        }
        System.arraycopy(more, 0, tokens, length, more.length);
        length += more.length;
    }

    long[] copy() {
        return Arrays.copyOf(tokens, length);
    }

    int length() {
        return length;
    }
}
