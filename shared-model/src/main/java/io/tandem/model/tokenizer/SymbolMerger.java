package io.tandem.model.tokenizer;

/**
 * The merge loop both GGUF tokenizers share (llama.cpp's, for SentencePiece and for BPE): a word's
 * symbols are byte ranges kept as a linked list; the adjacent pair with the highest priority merges
 * first (ties to the leftmost), and merging re-queues the new neighbours. Arrays grow and are reused,
 * so one merger serves a whole text without allocating per word.
 */
final class SymbolMerger {

    /** The priority of merging two adjacent symbols (higher merges first), or NaN when the pair is no token. */
    @FunctionalInterface
    interface PairPriority {
        float of(int leftStart, int leftLength, int rightStart, int rightLength);
    }

    private final BigramQueue queue = new BigramQueue();
    private int[] start = new int[16];
    private int[] length = new int[16];
    private int[] prev = new int[16];
    private int[] next = new int[16];
    private int count;

    /** Starts a word of at most {@code capacity} symbols. */
    void reset(int capacity) {
        if (start.length < capacity) {
            int n = Math.max(capacity, 2 * start.length);
            start = new int[n];
            length = new int[n];
            prev = new int[n];
            next = new int[n];
        }
        count = 0;
    }

    /** Appends a symbol covering {@code [from, from + bytes)}. */
    void add(int from, int bytes) {
        start[count] = from;
        length[count] = bytes;
        prev[count] = count - 1;
        next[count] = -1;
        if (count > 0) {
            next[count - 1] = count;
        }
        count++;
    }

    void merge(PairPriority priority) {
        queue.clear();
        for (int i = 1; i < count; i++) {
            queue(priority, i - 1, i);
        }
        while (!queue.isEmpty()) {
            int entry = queue.pop();
            int left = queue.left(entry);
            int right = queue.right(entry);
            // stale: one side was merged away, or the pair has grown since it was queued
            if (length[left] == 0 || length[right] == 0 || length[left] + length[right] != queue.size(entry)) {
                continue;
            }
            length[left] += length[right];
            length[right] = 0;
            next[left] = next[right];
            if (next[right] >= 0) {
                prev[next[right]] = left;
            }
            queue(priority, prev[left], left);
            queue(priority, left, next[left]);
        }
    }

    private void queue(PairPriority priority, int left, int right) {
        if (left < 0 || right < 0) {
            return;
        }
        float p = priority.of(start[left], length[left], start[right], length[right]);
        if (!Float.isNaN(p)) {
            queue.push(p, left, right, length[left] + length[right]);
        }
    }

    /** The first symbol left after merging, or -1 for an empty word. */
    int first() {
        return count == 0 ? -1 : 0;
    }

    /** The symbol after {@code i}, or -1. */
    int next(int i) {
        return next[i];
    }

    int start(int i) {
        return start[i];
    }

    int length(int i) {
        return length[i];
    }

    /** What to add for a merged symbol the vocabulary lacks: the bytes [start, start + length) of the text. */
    @FunctionalInterface
    interface UnknownSymbol {
        void emit(int start, int length, IntList out);
    }

    /** Adds each merged symbol's token id in order; a spelling that is no token goes to {@code unknown}. */
    void emit(TokenIndex index, byte[] text, IntList out, UnknownSymbol unknown) {
        for (int i = first(); i != -1; i = next(i)) {
            int id = index.get(text, start(i), length(i));
            if (id >= 0) {
                out.add(id);
            } else {
                unknown.emit(start(i), length(i), out);
            }
        }
    }
}
