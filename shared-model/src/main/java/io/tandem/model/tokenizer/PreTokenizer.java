package io.tandem.model.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The pre-tokenizers of byte-level BPE vocabularies, chosen by {@code tokenizer.ggml.pre}: each splits
 * text into words with one or more regular expressions, applied in turn to every piece the previous one
 * produced; text between matches stays a piece of its own (llama.cpp's {@code unicode_regex_split}).
 *
 * <p>The expressions are llama.cpp's (the Hugging Face tokenizer.json ones, with {@code (?i:...)} spelled
 * out as character classes). They run with {@link 0}, because {@code \s}
 * must mean Unicode White_Space (U+0085, U+00A0, U+3000 ...) as in the Rust and Python originals, not
 * Java's default ASCII whitespace; {@code \p{L}}, {@code \p{N}} and {@code \p{P}} are general categories
 * either way. The flag changes nothing else these expressions use.
 */
public enum PreTokenizer {

    /** llama.cpp's fallback: punctuation runs, then GPT-2's split, then numbers, then runs of three digits. */
    DEFAULT(false, false,
            "[\\p{P}$+<=>^~|]+",
            Regexes.GPT2,
            "\\p{N}+",
            "[0-9][0-9][0-9]"),
    /** GPT-2 (and phi-2, mpt, olmo ...): contractions, letters, numbers, other symbols, whitespace. */
    GPT2(false, false, Regexes.GPT2),
    /** Llama 3: numbers in groups of up to three digits, newlines kept with the whitespace before them. */
    LLAMA3(true, true, Regexes.LLAMA3),
    /** Qwen 2: as Llama 3 but every digit on its own. */
    QWEN2(false, false, Regexes.QWEN2),
    /** SmolLM (and StarCoder, Refact, Command R, CodeShell, EXAONE): every digit on its own, then GPT-2's split. */
    SMOLLM(false, false, "\\p{N}", Regexes.GPT2);

    /** Held apart so that the enum constants can share them (constants cannot read the enum's static fields). */
    private static final class Regexes {
        static final String GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
        static final String CONTRACTIONS = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";
        static final String LLAMA3 = CONTRACTIONS + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
                + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
        static final String QWEN2 = CONTRACTIONS + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
                + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    }

    private final boolean ignoreMerges;
    private final boolean addBosByDefault;
    private final Pattern[] patterns;

    PreTokenizer(boolean ignoreMerges, boolean addBosByDefault, String... regexes) {
        this.ignoreMerges = ignoreMerges;
        this.addBosByDefault = addBosByDefault;
        this.patterns = new Pattern[regexes.length];
        for (int i = 0; i < regexes.length; i++) {
            patterns[i] = Pattern.compile(regexes[i], Pattern.UNICODE_CHARACTER_CLASS);
        }
    }

    /**
     * The pre-tokenizer named by {@code tokenizer.ggml.pre}, with llama.cpp's aliases; null or empty means
     * DEFAULT (files converted before the key existed).
     *
     * @throws IllegalArgumentException for a name this code does not implement
     */
    public static PreTokenizer forName(String name) {
        if (name == null || name.isEmpty()) {
            return DEFAULT;
        }
        return switch (name) {
            case "default" -> DEFAULT;
            case "gpt-2", "phi-2", "mpt", "olmo", "jina-es", "jina-de", "jina-v2-es", "jina-v2-de", "gigachat",
                 "roberta-bpe", "jina-v1-en", "jina-v2-code", "exaone4" -> GPT2;
            case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2" -> LLAMA3;
            case "qwen2", "deepseek-r1-qwen", "megrez", "stablelm2" -> QWEN2;
            case "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone" -> SMOLLM;
            default -> throw new IllegalArgumentException("pre-tokenizer '" + name + "' is not supported (supported: "
                    + "default, gpt-2, llama3/llama-bpe, qwen2, smollm and their aliases)");
        };
    }

    /** Llama 3 files look a whole word up before merging it (tokenizer.json's ignore_merges). */
    boolean ignoresMerges() {
        return ignoreMerges;
    }

    /** What llama.cpp assumes for add_bos when the file does not say. */
    boolean addsBosByDefault() {
        return addBosByDefault;
    }

    /** Splits text into the words BPE then merges within. */
    public List<String> split(String text) {
        List<String> pieces = new ArrayList<>();
        pieces.add(text);
        for (Pattern pattern : patterns) {
            List<String> next = new ArrayList<>(pieces.size() * 2);
            for (String piece : pieces) {
                Matcher m = pattern.matcher(piece);
                int last = 0;
                while (m.find()) {
                    if (m.end() == m.start()) {
                        continue;
                    }
                    if (m.start() > last) {
                        next.add(piece.substring(last, m.start()));
                    }
                    next.add(piece.substring(m.start(), m.end()));
                    last = m.end();
                }
                if (last < piece.length()) {
                    next.add(piece.substring(last));
                }
            }
            pieces = next;
        }
        return pieces;
    }
}
