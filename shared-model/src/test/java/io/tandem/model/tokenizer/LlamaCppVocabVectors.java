package io.tandem.model.tokenizer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * llama.cpp's tokenizer test vectors (tests/test-tokenizer-0.cpp): {@code NAME.gguf.inp} holds the
 * inputs, each followed by the separator {@code "\n__ggml_vocab_test__\n"} (so an input may be empty or
 * consist of newlines); {@code NAME.gguf.out} holds one line of space-separated expected ids per input.
 * llama.cpp tokenizes them with {@code add_special = false} and {@code parse_special = false}: no BOS, and
 * special-token texts stay text.
 */
record LlamaCppVocabVectors(List<Case> cases) {

    static final String SEPARATOR = "\n__ggml_vocab_test__\n";

    record Case(int index, String input, int[] expected) {
    }

    static LlamaCppVocabVectors read(Path gguf) throws IOException {
        String raw = Files.readString(gguf.resolveSibling(gguf.getFileName() + ".inp"), StandardCharsets.UTF_8);
        List<String> outLines = Files.readAllLines(gguf.resolveSibling(gguf.getFileName() + ".out"), StandardCharsets.UTF_8);
        // the reader of test-tokenizer-0.cpp: cut at each separator; what follows the last one is a further input
        List<String> inputs = new ArrayList<>();
        int pos = 0;
        while (pos < raw.length()) {
            int next = raw.indexOf(SEPARATOR, pos);
            if (next < 0) {
                inputs.add(raw.substring(pos));
                break;
            }
            inputs.add(raw.substring(pos, next));
            pos = next + SEPARATOR.length();
        }
        if (inputs.size() != outLines.size()) {
            throw new IllegalStateException(gguf + ": " + inputs.size() + " inputs but " + outLines.size() + " expected lines");
        }
        List<Case> cases = new ArrayList<>();
        for (int i = 0; i < inputs.size(); i++) {
            String line = outLines.get(i).strip();
            int[] ids = line.isEmpty() ? new int[0]
                    : java.util.Arrays.stream(line.split(" ")).mapToInt(Integer::parseInt).toArray();
            cases.add(new Case(i, inputs.get(i), ids));
        }
        return new LlamaCppVocabVectors(List.copyOf(cases));
    }

    /** A readable name for a case: the input with control characters escaped, cut short. */
    static String label(Case c) {
        StringBuilder out = new StringBuilder();
        c.input().codePoints().limit(40).forEach(cp -> {
            switch (cp) {
                case '\n' -> out.append("\\n");
                case '\t' -> out.append("\\t");
                case '\r' -> out.append("\\r");
                default -> out.appendCodePoint(cp);
            }
        });
        return "#" + c.index() + " '" + out + (c.input().codePointCount(0, c.input().length()) > 40 ? "...'" : "'");
    }
}
