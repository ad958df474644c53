package io.tandem.model.tokenizer;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Finds the shared test models ({@code ../shared/models} next to the repository). Tests that need them
 * skip with a message when they are absent, so the module still builds on its own.
 */
public final class SharedModels {

    /** Overrides the search, e.g. {@code -Dtandem.shared.models=/data/models}. */
    public static final String PROPERTY = "tandem.shared.models";

    private SharedModels() {
    }

    public static Optional<Path> root() {
        String override = System.getProperty(PROPERTY);
        if (override != null) {
            Path path = Path.of(override);
            return Files.isDirectory(path) ? Optional.of(path) : Optional.empty();
        }
        // the module directory when Maven runs the tests, the repository root from an IDE: walk up from either
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve("shared").resolve("models");
            if (Files.isDirectory(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /** The file under the shared models folder, or a skipped test when it is not there. */
    public static Path require(String relative) {
        Optional<Path> root = root();
        assumeTrue(root.isPresent(), "../shared/models not found above " + Path.of("").toAbsolutePath()
                + " (set -D" + PROPERTY + "): skipping a test that needs it");
        Path file = root.get().resolve(relative);
        assumeTrue(Files.isRegularFile(file), file + " is missing: skipping a test that needs it");
        return file;
    }
}
