package io.tandem.model.tokenizer;

/**
 * The work queue of the merge loops: candidate merges of two adjacent symbols, highest priority first,
 * the leftmost on ties (llama.cpp's order for both SentencePiece scores and BPE ranks, the latter as
 * negated priorities). A binary heap over parallel primitive arrays: no object per candidate.
 */
final class BigramQueue {

    private float[] priority = new float[64];
    private int[] left = new int[64];
    private int[] right = new int[64];
    private int[] size = new int[64];
    private int[] heap = new int[64];
    private int entries;
    private int count;

    void clear() {
        entries = 0;
        count = 0;
    }

    boolean isEmpty() {
        return count == 0;
    }

    void push(float p, int l, int r, int s) {
        if (entries == priority.length) {
            int n = entries * 2;
            priority = java.util.Arrays.copyOf(priority, n);
            left = java.util.Arrays.copyOf(left, n);
            right = java.util.Arrays.copyOf(right, n);
            size = java.util.Arrays.copyOf(size, n);
            heap = java.util.Arrays.copyOf(heap, n);
        }
        int e = entries++;
        priority[e] = p;
        left[e] = l;
        right[e] = r;
        size[e] = s;
        int i = count++;
        heap[i] = e;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (!before(heap[i], heap[parent])) {
                break;
            }
            swap(i, parent);
            i = parent;
        }
    }

    /** Removes the first candidate and returns its entry, valid for {@link #left}, {@link #right}, {@link #size}. */
    int pop() {
        int top = heap[0];
        heap[0] = heap[--count];
        int i = 0;
        while (true) {
            int l = 2 * i + 1;
            if (l >= count) {
                break;
            }
            int best = l + 1 < count && before(heap[l + 1], heap[l]) ? l + 1 : l;
            if (!before(heap[best], heap[i])) {
                break;
            }
            swap(i, best);
            i = best;
        }
        return top;
    }

    int left(int entry) {
        return left[entry];
    }

    int right(int entry) {
        return right[entry];
    }

    int size(int entry) {
        return size[entry];
    }

    private boolean before(int a, int b) {
        return priority[a] > priority[b] || (priority[a] == priority[b] && left[a] < left[b]);
    }

    private void swap(int i, int j) {
        int t = heap[i];
        heap[i] = heap[j];
        heap[j] = t;
    }
}
