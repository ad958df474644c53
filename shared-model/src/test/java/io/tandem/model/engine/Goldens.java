package io.tandem.model.engine;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** llama2.c goldens from the test resources (see golden/README.md). */
final class Goldens {
    private Goldens() {
    }

    record PromptGolden(String prompt, int[] ids) {
    }

    static String resource(String name) {
        try (InputStream in = Goldens.class.getResourceAsStream("/io/tandem/model/golden/" + name)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static int[] ids(String line) {
        return Arrays.stream(line.trim().split("\\s+")).mapToInt(Integer::parseInt).toArray();
    }

    /** BOS then 256 greedy tokens of stories260K, from llama2.c's run.c. */
    static int[] greedyFromBos() {
        return ids(resource("expected-greedy-256.tokens.txt"));
    }

    static List<PromptGolden> prompts() {
        List<PromptGolden> out = new ArrayList<>();
        String prompt = null;
        for (String line : resource("llama2c-greedy-prompts.txt").split("\n")) {
            if (line.startsWith("prompt=")) {
                prompt = line.substring("prompt=".length());
            } else if (line.startsWith("ids=")) {
                out.add(new PromptGolden(prompt, ids(line.substring("ids=".length()))));
            }
        }
        return out;
    }
}
