package io.tandem.model.tokenizer;

import java.util.Arrays;

/**
 * An open-addressing hash map from byte strings to ids that looks up a range of a byte array, so that the
 * merge loops of the tokenizers test candidate pieces without building a String per candidate.
 * Immutable once built; the first id put for a key wins.
 */
final class TokenIndex {

    private final byte[][] keys;
    private final int[] values;
    private final int[] slots;
    private final int mask;
    private int size;

    TokenIndex(int expected) {
        int capacity = Integer.highestOneBit(Math.max(4, expected * 2 - 1)) << 1;
        this.keys = new byte[expected][];
        this.values = new int[expected];
        this.slots = new int[capacity];
        Arrays.fill(slots, -1);
        this.mask = capacity - 1;
    }

    /** Adds {@code key -> value} unless the key is present; at most {@code expected} keys. */
    boolean putIfAbsent(byte[] key, int value) {
        int slot = hash(key, 0, key.length) & mask;
        while (slots[slot] >= 0) {
            byte[] existing = keys[slots[slot]];
            if (Arrays.equals(existing, key)) {
                return false;
            }
            slot = (slot + 1) & mask;
        }
        keys[size] = key;
        values[size] = value;
        slots[slot] = size++;
        return true;
    }

    /** The id of {@code buf[offset, offset + length)}, or -1. */
    int get(byte[] buf, int offset, int length) {
        int slot = hash(buf, offset, length) & mask;
        while (true) {
            int entry = slots[slot];
            if (entry < 0) {
                return -1;
            }
            byte[] key = keys[entry];
            if (Arrays.equals(key, 0, key.length, buf, offset, offset + length)) {
                return values[entry];
            }
            slot = (slot + 1) & mask;
        }
    }

    int get(byte[] key) {
        return get(key, 0, key.length);
    }

    /** FNV-1a, then a final mix so that the low bits used as the slot depend on every byte. */
    private static int hash(byte[] buf, int offset, int length) {
        int h = 0x811c9dc5;
        for (int i = offset; i < offset + length; i++) {
            h = (h ^ (buf[i] & 0xFF)) * 0x01000193;
        }
        return h ^ (h >>> 15);
    }
}
