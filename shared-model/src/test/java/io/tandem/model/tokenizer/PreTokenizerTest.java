package io.tandem.model.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The regex pre-tokenizers against hand-written scanners that follow llama.cpp's own implementations of
 * the same expressions ({@code unicode_regex_split_custom_gpt2} and {@code _llama3} in unicode.cpp), over
 * random strings mixing the character classes that matter: letters, numbers, Unicode whitespace, newlines,
 * contractions, marks, symbols and supplementary characters. The scanners take their whitespace from the
 * Unicode White_Space list, not from Java, so the test also pins down what {@code \s} means.
 */
class PreTokenizerTest {

    /** Unicode PropList.txt, White_Space: what llama.cpp's unicode_set_whitespace holds. */
    private static boolean isWhiteSpace(int cp) {
        return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680
                || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
    }

    private static boolean isLetter(int cp) {
        return switch (Character.getType(cp)) {
            case Character.UPPERCASE_LETTER, Character.LOWERCASE_LETTER, Character.TITLECASE_LETTER,
                 Character.MODIFIER_LETTER, Character.OTHER_LETTER -> true;
            default -> false;
        };
    }

    private static boolean isNumber(int cp) {
        return switch (Character.getType(cp)) {
            case Character.DECIMAL_DIGIT_NUMBER, Character.LETTER_NUMBER, Character.OTHER_NUMBER -> true;
            default -> false;
        };
    }

    /** Code points of the alphabet the random strings draw from. */
    private static final int[] ALPHABET = " \t\n\r\u000B\f\u00A0\u3000\u2028\u0085\u001Fabcdeslmrtv SDTLMVE'''!?.,-$+<=>^~|_\"(0123456789\u0663\u00BD\u2167éßÆ中文\u0301\u0BCDꙮ😀🦙\u200D"
            .codePoints().toArray();

    private static String randomText(Random random, int maxLength) {
        StringBuilder out = new StringBuilder();
        int n = random.nextInt(maxLength + 1);
        for (int i = 0; i < n; i++) {
            out.appendCodePoint(ALPHABET[random.nextInt(ALPHABET.length)]);
        }
        return out.toString();
    }

    // ---------------------------------------------------------------- reference scanners

    /** GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
    static List<String> scanGpt2(String text) {
        int[] cps = text.codePoints().toArray();
        List<String> out = new ArrayList<>();
        int pos = 0;
        while (pos < cps.length) {
            int start = pos;
            int cp = cps[pos];
            int contraction = contraction(cps, pos, false);
            if (contraction > 0) {
                pos += contraction;
            } else {
                int first = cp == ' ' && pos + 1 < cps.length ? pos + 1 : pos;
                int c = cps[first];
                if (isLetter(c)) {
                    pos = first;
                    while (pos < cps.length && isLetter(cps[pos])) {
                        pos++;
                    }
                } else if (isNumber(c)) {
                    pos = first;
                    while (pos < cps.length && isNumber(cps[pos])) {
                        pos++;
                    }
                } else if (!isWhiteSpace(c)) {
                    pos = first;
                    while (pos < cps.length && !isWhiteSpace(cps[pos]) && !isLetter(cps[pos]) && !isNumber(cps[pos])) {
                        pos++;
                    }
                } else {
                    pos = whitespaceRun(cps, pos, false);
                }
            }
            out.add(new String(cps, start, pos - start));
        }
        return out;
    }

    /**
     * Llama 3 (digitGroup 3) and Qwen 2 (digitGroup 1): (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+
     * |\p{N}{1,g}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
     */
    static List<String> scanLlama3(String text, int digitGroup) {
        int[] cps = text.codePoints().toArray();
        List<String> out = new ArrayList<>();
        int pos = 0;
        while (pos < cps.length) {
            int start = pos;
            int cp = cps[pos];
            int contraction = contraction(cps, pos, true);
            boolean newline = cp == '\r' || cp == '\n';
            if (contraction > 0) {
                pos += contraction;
            } else if (!newline && !isNumber(cp) && (isLetter(cp) || (pos + 1 < cps.length && isLetter(cps[pos + 1])))) {
                pos++;
                while (pos < cps.length && isLetter(cps[pos])) {
                    pos++;
                }
            } else if (isNumber(cp)) {
                while (pos < cps.length && isNumber(cps[pos]) && pos - start < digitGroup) {
                    pos++;
                }
            } else if (symbolRunStart(cps, pos) >= 0) {
                pos = symbolRunStart(cps, pos);
                while (pos < cps.length && !isWhiteSpace(cps[pos]) && !isLetter(cps[pos]) && !isNumber(cps[pos])) {
                    pos++;
                }
                while (pos < cps.length && (cps[pos] == '\r' || cps[pos] == '\n')) {
                    pos++;
                }
            } else {
                pos = whitespaceRun(cps, pos, true);
            }
            out.add(new String(cps, start, pos - start));
        }
        return out;
    }

    /** " ?[^\s\p{L}\p{N}]": where the symbol run starts (after an optional space), or -1. */
    private static int symbolRunStart(int[] cps, int pos) {
        int first = cps[pos] == ' ' ? pos + 1 : pos;
        if (first >= cps.length) {
            return -1;
        }
        int c = cps[first];
        return !isWhiteSpace(c) && !isLetter(c) && !isNumber(c) ? first : -1;
    }

    /** Length of a contraction at pos ('s 't 're 've 'm 'll 'd, any case when ignoreCase), or 0. */
    private static int contraction(int[] cps, int pos, boolean ignoreCase) {
        if (cps[pos] != '\'' || pos + 1 >= cps.length) {
            return 0;
        }
        int a = ignoreCase ? Character.toLowerCase(cps[pos + 1]) : cps[pos + 1];
        if (a == 's' || a == 't' || a == 'm' || a == 'd') {
            return 2;
        }
        if (pos + 2 < cps.length) {
            int b = ignoreCase ? Character.toLowerCase(cps[pos + 2]) : cps[pos + 2];
            if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) {
                return 3;
            }
        }
        return 0;
    }

    /** \s*[\r\n]+ (when newlines count), then \s+(?!\S), then \s+; a lone non-space character stands alone. */
    private static int whitespaceRun(int[] cps, int pos, boolean newlines) {
        int end = pos;
        int lastNewline = -1;
        while (end < cps.length && isWhiteSpace(cps[end])) {
            if (cps[end] == '\r' || cps[end] == '\n') {
                lastNewline = end + 1;
            }
            end++;
        }
        if (newlines && lastNewline > 0) {
            return lastNewline;
        }
        int run = end - pos;
        if (run > 1 && end < cps.length) {
            return end - 1;
        }
        return run > 0 ? end : pos + 1;
    }

    // ---------------------------------------------------------------- tests

    @ParameterizedTest
    @EnumSource(value = PreTokenizer.class, names = {"GPT2", "LLAMA3", "QWEN2"})
    void splitsAsTheReferenceScanner(PreTokenizer pre) {
        Function<String, List<String>> reference = switch (pre) {
            case GPT2 -> PreTokenizerTest::scanGpt2;
            case LLAMA3 -> text -> scanLlama3(text, 3);
            case QWEN2 -> text -> scanLlama3(text, 1); // qwen2 splits digits one at a time
            default -> throw new IllegalArgumentException(pre.name());
        };
        Random random = new Random(pre.ordinal() + 1);
        for (int i = 0; i < 20_000; i++) {
            String text = randomText(random, 24);
            assertThat(pre.split(text)).as("%s split of %s", pre, escape(text)).isEqualTo(reference.apply(text));
        }
    }

    @ParameterizedTest
    @EnumSource(PreTokenizer.class)
    void splitsCoverTheTextExactly(PreTokenizer pre) {
        Random random = new Random(4);
        for (int i = 0; i < 5_000; i++) {
            String text = randomText(random, 40);
            List<String> pieces = pre.split(text);
            assertThat(String.join("", pieces)).isEqualTo(text);
            assertThat(pieces).noneMatch(String::isEmpty);
        }
    }

    @Test
    void defaultSplitsPunctuationAndDigitTriplesFurther() {
        // the DEFAULT chain: punctuation runs first, then GPT-2, then number runs, then ASCII digit triples
        assertThat(PreTokenizer.DEFAULT.split("a, b!! 12345"))
                .containsExactly("a", ",", " b", "!!", " ", "123", "45");
    }

    @Test
    void smollmSplitsEveryDigitThenAsGpt2() {
        // llama.cpp's SMOLLM chain: \p{N} first (each digit a piece), then GPT-2's expression on the rest
        assertThat(PreTokenizer.SMOLLM.split("Hello world 42!")).containsExactly("Hello", " world", " ", "4", "2", "!");
        assertThat(PreTokenizer.GPT2.split("Hello world 42!")).containsExactly("Hello", " world", " 42", "!");
    }

    @Test
    void namesMapAsInLlamaCpp() {
        assertThat(PreTokenizer.forName(null)).isEqualTo(PreTokenizer.DEFAULT);
        assertThat(PreTokenizer.forName("default")).isEqualTo(PreTokenizer.DEFAULT);
        assertThat(PreTokenizer.forName("gpt-2")).isEqualTo(PreTokenizer.GPT2);
        assertThat(PreTokenizer.forName("llama-bpe")).isEqualTo(PreTokenizer.LLAMA3);
        assertThat(PreTokenizer.forName("llama3")).isEqualTo(PreTokenizer.LLAMA3);
        assertThat(PreTokenizer.forName("qwen2")).isEqualTo(PreTokenizer.QWEN2);
        assertThat(PreTokenizer.forName("smollm")).isEqualTo(PreTokenizer.SMOLLM);
        assertThatThrownBy(() -> PreTokenizer.forName("tekken")).hasMessageContaining("'tekken'");
    }

    private static String escape(String text) {
        StringBuilder out = new StringBuilder("'");
        text.codePoints().forEach(cp -> {
            if (cp < 0x20 || (cp >= 0x7F && cp <= 0xA0) || cp == 0x2028 || cp == 0x3000) {
                out.append(String.format("\\u%04X", cp));
            } else {
                out.appendCodePoint(cp);
            }
        });
        return out.append("'").toString();
    }
}
