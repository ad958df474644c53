package io.tandem.model.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Cuts special tokens out of text before the tokenizer model runs, as llama.cpp's
 * {@code tokenizer_st_partition}: each special token in turn, longest first, splits every text fragment
 * at each of its occurrences. USER_DEFINED tokens are always cut out; CONTROL and UNKNOWN ones only when
 * special tokens are parsed (otherwise "&lt;s&gt;" typed by a user stays three characters).
 */
final class SpecialTokenSplitter {

    /** A piece of the input: text for the tokenizer model, or a token id taken as is. */
    sealed interface Fragment {
    }

    record Text(String text) implements Fragment {
    }

    record Token(int id) implements Fragment {
    }

    private final GgufVocabulary vocabulary;

    SpecialTokenSplitter(GgufVocabulary vocabulary) {
        this.vocabulary = vocabulary;
    }

    List<Fragment> split(String text, boolean parseSpecial) {
        List<Fragment> fragments = new ArrayList<>();
        if (text.isEmpty()) {
            return fragments;
        }
        fragments.add(new Text(text));
        for (int id : vocabulary.specialsByLength()) {
            if (!parseSpecial && vocabulary.type(id) != TokenType.USER_DEFINED) {
                continue;
            }
            String special = vocabulary.piece(id);
            List<Fragment> next = null;
            for (int f = 0; f < fragments.size(); f++) {
                Fragment fragment = fragments.get(f);
                if (!(fragment instanceof Text(String raw)) || !raw.contains(special)) {
                    if (next != null) {
                        next.add(fragment);
                    }
                    continue;
                }
                if (next == null) {
                    next = new ArrayList<>(fragments.subList(0, f));
                }
                int from = 0;
                for (int at = raw.indexOf(special); at >= 0; at = raw.indexOf(special, from)) {
                    if (at > from) {
                        next.add(new Text(raw.substring(from, at)));
                    }
                    next.add(new Token(id));
                    from = at + special.length();
                }
                if (from < raw.length()) {
                    next.add(new Text(raw.substring(from)));
                }
            }
            if (next != null) {
                fragments = next;
            }
        }
        return fragments;
    }
}
