package io.tandem.model.constrain;

import io.tandem.model.sampling.TokenMask;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A model's vocabulary as bytes, arranged as a trie, and the constraints compiled against it. For a
 * grammar state, the tokens that may come next are found by walking the trie with the state: a branch
 * dies at the first byte the grammar refuses, so a token that spans several grammar symbols (a
 * closing quote and a comma, say) is checked byte by byte, and most of the vocabulary is never
 * visited. The answer per state is cached: masks are built once per schema and state, then reused
 * by every sequence that reaches the state.
 */
public final class ConstrainedVocabulary {

    private static final int CACHED_CONSTRAINTS = 32;
    private static final int CACHED_STATES = 4096;

    private final int vocabSize;
    private final int[] endTokens;
    private final Node root = new Node();
    private final byte[][] tokenBytes;
    private final Map<OutputConstraint, Compiled> compiled = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<OutputConstraint, Compiled> eldest) {
            return size() > CACHED_CONSTRAINTS;
        }
    };

    /**
     * @param tokenBytes the bytes each token adds to the text (null or empty: a token the output may not
     *                   contain, such as BOS and other control tokens)
     * @param endTokens  the ids that end a generation, allowed once the document is complete
     */
    public ConstrainedVocabulary(byte[][] tokenBytes, Set<Integer> endTokens) {
        this.vocabSize = tokenBytes.length;
        this.tokenBytes = tokenBytes;
        this.endTokens = endTokens.stream().mapToInt(Integer::intValue).sorted().toArray();
        for (int id = 0; id < tokenBytes.length; id++) {
            byte[] bytes = tokenBytes[id];
            if (bytes == null || bytes.length == 0 || endTokens.contains(id)) {
                continue;
            }
            Node node = root;
            for (byte b : bytes) {
                node = node.child(b & 0xff);
            }
            node.tokens = Arrays.copyOf(node.tokens, node.tokens.length + 1);
            node.tokens[node.tokens.length - 1] = id;
        }
    }

    public int vocabSize() {
        return vocabSize;
    }

    /** The mask factory for {@code constraint} on this vocabulary, compiled on first use and then cached. */
    public synchronized TokenMask.Factory compile(OutputConstraint constraint) {
        return compiled.computeIfAbsent(constraint, c -> new Compiled(c.shape()));
    }

    /** The bytes of a token, as this vocabulary knows them (for tests and diagnostics). */
    public byte[] bytes(int token) {
        return tokenBytes[token] == null ? new byte[0] : tokenBytes[token].clone();
    }

    /** A trie node; children are few per node in real vocabularies, so they are kept as short parallel arrays. */
    private static final class Node {
        int[] keys = new int[0];
        Node[] children = new Node[0];
        int[] tokens = new int[0];

        Node child(int b) {
            for (int i = 0; i < keys.length; i++) {
                if (keys[i] == b) {
                    return children[i];
                }
            }
            keys = Arrays.copyOf(keys, keys.length + 1);
            children = Arrays.copyOf(children, children.length + 1);
            keys[keys.length - 1] = b;
            children[children.length - 1] = new Node();
            return children[children.length - 1];
        }
    }

    /** The tokens allowed in one state, with the fewest bytes that complete the document after each. */
    private record Allowed(int[] tokens, int[] minBytesAfter, JsonMatcher.State[] next) {
    }

    private final class Compiled implements TokenMask.Factory {
        private final JsonMatcher.State start;
        private final Map<JsonMatcher.State, Allowed> masks = new LinkedHashMap<>(256, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<JsonMatcher.State, Allowed> eldest) {
                return size() > CACHED_STATES;
            }
        };

        /** Per state, the tokens one shortest completion takes, spelled greedily from the vocabulary. */
        private final Map<JsonMatcher.State, Integer> costs = new LinkedHashMap<>(256, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<JsonMatcher.State, Integer> eldest) {
                return size() > CACHED_STATES;
            }
        };

        /**
         * Tokens that surely complete the document from {@code state}: a shortest completion spelled with
         * the longest matching token at each point (an upper bound that some path reaches).
         */
        int tokensToComplete(JsonMatcher.State state) {
            synchronized (costs) {
                Integer cached = costs.get(state);
                if (cached != null) {
                    return cached;
                }
            }
            int[] path = completionTokens(state);
            int tokens = path == null ? Integer.MAX_VALUE : path.length;
            synchronized (costs) {
                costs.put(state, tokens);
            }
            return tokens;
        }

        /** A shortest completion spelled greedily with the longest matching tokens, or null when a byte has none. */
        int[] completionTokens(JsonMatcher.State state) {
            byte[] text = state.shortestCompletion();
            List<Integer> tokens = new ArrayList<>();
            int at = 0;
            while (at < text.length) {
                Node node = root;
                int longest = 0;
                int token = -1;
                for (int i = at; i < text.length; i++) {
                    Node next = null;
                    for (int k = 0; k < node.keys.length; k++) {
                        if (node.keys[k] == (text[i] & 0xff)) {
                            next = node.children[k];
                            break;
                        }
                    }
                    if (next == null) {
                        break;
                    }
                    node = next;
                    if (node.tokens.length > 0) {
                        longest = i - at + 1;
                        token = node.tokens[0];
                    }
                }
                if (longest == 0) {
                    return null;
                }
                tokens.add(token);
                at += longest;
            }
            return tokens.stream().mapToInt(Integer::intValue).toArray();
        }

        Compiled(Shape shape) {
            this.start = JsonMatcher.State.start(shape);
        }

        Allowed allowed(JsonMatcher.State state) {
            synchronized (masks) {
                Allowed cached = masks.get(state);
                if (cached != null) {
                    return cached;
                }
            }
            List<Integer> tokens = new ArrayList<>();
            List<Integer> mins = new ArrayList<>();
            List<JsonMatcher.State> next = new ArrayList<>();
            walk(root, state, tokens, mins, next);
            Allowed allowed = new Allowed(tokens.stream().mapToInt(Integer::intValue).toArray(),
                    mins.stream().mapToInt(Integer::intValue).toArray(), next.toArray(JsonMatcher.State[]::new));
            synchronized (masks) {
                masks.put(state, allowed);
            }
            return allowed;
        }

        private void walk(Node node, JsonMatcher.State state, List<Integer> tokens, List<Integer> mins,
                          List<JsonMatcher.State> next) {
            if (node != root) {
                for (int token : node.tokens) {
                    tokens.add(token);
                    mins.add(state.minBytes());
                    next.add(state);
                }
            }
            for (int i = 0; i < node.keys.length; i++) {
                JsonMatcher.State after = state.feed(node.keys[i]);
                if (!after.dead()) {
                    walk(node.children[i], after, tokens, mins, next);
                }
            }
        }

        @Override
        public TokenMask newMask(int maxTokens) {
            return new Mask(this, maxTokens);
        }

        /** A shortest document spelled with this vocabulary's tokens: a limit below it cannot hold one. */
        @Override
        public int minimumTokens() {
            return tokensToComplete(start);
        }
    }

    /**
     * One sequence's position in the grammar. A token is allowed when the grammar accepts its bytes and
     * the document can still be completed within the tokens left (a shortest completion, spelled with the
     * vocabulary's tokens, fits), so an answer cut by its token limit is still a whole document whenever
     * the limit leaves room for one at all.
     */
    private final class Mask implements TokenMask {
        private final Compiled compiled;
        private final int maxTokens;
        private JsonMatcher.State state;
        private Allowed current;
        /** Once the limit is tight: the tokens of a shortest completion, followed to the end. */
        private int[] forced;
        private int forcedAt;

        Mask(Compiled compiled, int maxTokens) {
            this.compiled = compiled;
            this.maxTokens = maxTokens;
            this.state = compiled.start;
        }

        @Override
        public void allow(float[] logits, int generated) {
            current = compiled.allowed(state);
            int left = maxTokens - generated - 1; // tokens after this one
            float[] kept = new float[current.tokens.length];
            for (int i = 0; i < kept.length; i++) {
                kept[i] = logits[current.tokens[i]];
            }
            boolean complete = state.complete();
            float[] ends = new float[endTokens.length];
            for (int i = 0; i < endTokens.length; i++) {
                ends[i] = endTokens[i] < logits.length ? logits[endTokens[i]] : 0f;
            }
            Arrays.fill(logits, Float.NEGATIVE_INFINITY);
            if (forced != null && forcedAt < forced.length) {
                logits[forced[forcedAt]] = 0f;
                return;
            }
            boolean any = false;
            for (int i = 0; i < kept.length; i++) {
                // bytes bound tokens from above; only where they do not fit, spell the completion out
                if (current.minBytesAfter[i] <= left || compiled.tokensToComplete(current.next[i]) <= left) {
                    logits[current.tokens[i]] = kept[i];
                    any = true;
                }
            }
            if (!any && !complete) {
                // no free choice fits any more: write out a shortest completion, which fits (the state was
                // entered because it did), token by token
                forced = compiled.completionTokens(state);
                forcedAt = 0;
                if (forced != null && forced.length > 0) {
                    logits[forced[0]] = 0f;
                    return;
                }
                // nothing spells a completion (a limit too small from the start): keep to the grammar at least
                for (int i = 0; i < kept.length; i++) {
                    logits[current.tokens[i]] = kept[i];
                    any = true;
                }
            }
            if (complete || !any) {
                for (int i = 0; i < endTokens.length; i++) {
                    if (endTokens[i] < logits.length) {
                        logits[endTokens[i]] = ends[i];
                    }
                }
            }
        }

        @Override
        public void accept(int token) {
            if (forced != null && forcedAt < forced.length && forced[forcedAt] == token) {
                forcedAt++;
            }
            if (current == null) {
                current = compiled.allowed(state);
            }
            for (int i = 0; i < current.tokens.length; i++) {
                if (current.tokens[i] == token) {
                    state = current.next[i];
                    current = null;
                    return;
                }
            }
            // an end token (or a token the mask did not allow, which only a forced choice makes): the document ends
            state = new JsonMatcher.State(List.of(JsonMatcher.Config.DONE));
            current = null;
        }
    }
}
