package io.tandem.model.tokenizer;

import java.nio.charset.StandardCharsets;

/**
 * GPT-2's byte-to-unicode table: byte-level BPE vocabularies spell every byte as a printable character,
 * the printable Latin-1 bytes as themselves and the other 68 (controls, space, 0x7F-0xA0, 0xAD) as
 * U+0100 upwards in byte order; a space becomes 'Ġ' (U+0120), a newline 'Ċ' (U+010A).
 */
final class ByteLevel {

    private static final int[] CODE_POINT = new int[256];
    /** The UTF-8 encoding of each byte's character: what the vocabulary's pieces are made of. */
    private static final byte[][] ENCODED = new byte[256][];
    /** Code point to byte for the 256 characters of the table, -1 elsewhere. */
    private static final int[] BYTE_OF = new int[512];

    static {
        java.util.Arrays.fill(BYTE_OF, -1);
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            CODE_POINT[b] = printable ? b : next++;
            ENCODED[b] = new String(Character.toChars(CODE_POINT[b])).getBytes(StandardCharsets.UTF_8);
            BYTE_OF[CODE_POINT[b]] = b;
        }
    }

    private ByteLevel() {
    }

    /** The UTF-8 bytes of the character that stands for byte {@code b}; must not be modified. */
    static byte[] encoded(int b) {
        return ENCODED[b & 0xFF];
    }

    /** The byte a character of the table stands for, or -1 for any other code point. */
    static int byteOf(int codePoint) {
        return codePoint >= 0 && codePoint < BYTE_OF.length ? BYTE_OF[codePoint] : -1;
    }

    /**
     * Turns a byte-level piece back into raw bytes. A character outside the table (an added token's text
     * slipped into a NORMAL entry) is kept as its own UTF-8.
     */
    static byte[] decode(String piece) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(piece.length());
        for (int i = 0; i < piece.length(); ) {
            int cp = piece.codePointAt(i);
            int b = byteOf(cp);
            if (b >= 0) {
                out.write(b);
            } else {
                out.writeBytes(new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8));
            }
            i += Character.charCount(cp);
        }
        return out.toByteArray();
    }
}
