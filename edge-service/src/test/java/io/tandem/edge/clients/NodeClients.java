package io.tandem.edge.clients;

import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Runs the real-client scripts of {@code src/test/node} (the official openai package, playwright-core
 * driving Debian's Chromium) against an edge on a local port. Missing tools fail the test with what
 * to run; {@code -Dtandem.skipNodeTests=true} skips these tests instead.
 */
final class NodeClients {

    static final String SETUP = ".ci/setup-test-tools.sh";
    static final Path NODE_DIR = Path.of("src", "test", "node").toAbsolutePath();
    static final Path CHROMIUM = Path.of(System.getProperty("tandem.chromium", "/usr/bin/chromium"));
    static final long TIMEOUT_SECONDS = 120;

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private NodeClients() {
    }

    /** What a script did: exit status, its output, and the JSON summary it printed last on stdout. */
    record Run(int exitCode, String stdout, String stderr, JsonNode summary) {

        /** The end of both outputs, for failure messages. */
        String tail() {
            String both = "--- stdout ---\n" + stdout + "\n--- stderr ---\n" + stderr;
            return both.length() > 6000 ? "…" + both.substring(both.length() - 6000) : both;
        }
    }

    /** Skips when asked to; otherwise fails with the setup command when node or the packages are missing. */
    static void requireNode(boolean needsChromium) {
        Assumptions.assumeFalse(Boolean.getBoolean("tandem.skipNodeTests"),
                "tandem.skipNodeTests=true: the real-client tests are skipped");
        List<String> missing = new ArrayList<>();
        String node = nodeVersion();
        if (node == null) {
            missing.add("node (Node.js 20 or newer) is not on the PATH");
        }
        if (!Files.isDirectory(NODE_DIR.resolve("node_modules/openai"))
                || !Files.isDirectory(NODE_DIR.resolve("node_modules/playwright-core"))) {
            missing.add("the npm packages are not installed in " + NODE_DIR + " (node_modules)");
        }
        if (needsChromium && !Files.isExecutable(CHROMIUM)) {
            missing.add(CHROMIUM + " is missing (Debian's chromium package)");
        }
        if (!missing.isEmpty()) {
            fail("The real-client tests need tools that are missing: " + String.join("; ", missing)
                    + ". Run " + SETUP + " from the repository root (bin/tandem test runs it), "
                    + "or skip these tests with -Dtandem.skipNodeTests=true.");
        }
    }

    /** {@code node --version}, or null when there is no node on the PATH. */
    static String nodeVersion() {
        try {
            Process p = new ProcessBuilder(nodeCommand(), "--version").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            return p.waitFor(20, TimeUnit.SECONDS) && p.exitValue() == 0 ? out : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    static String nodeCommand() {
        return System.getProperty("tandem.node", "node");
    }

    /** Runs {@code node script args...} in src/test/node, killed after {@link #TIMEOUT_SECONDS}. */
    static Run run(String script, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(nodeCommand(), script));
        command.addAll(List.of(args));
        Path out = Files.createTempFile("tandem-node-", ".out");
        Path err = Files.createTempFile("tandem-node-", ".err");
        try {
            ProcessBuilder builder = new ProcessBuilder(command).directory(NODE_DIR.toFile())
                    .redirectOutput(out.toFile()).redirectError(err.toFile());
            builder.environment().put("NO_COLOR", "1");
            Process process = builder.start();
            if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                fail("node " + script + " did not finish within " + TIMEOUT_SECONDS + " s\n"
                        + new Run(-1, Files.readString(out), Files.readString(err), null).tail());
            }
            String stdout = Files.readString(out);
            String stderr = Files.readString(err);
            return new Run(process.exitValue(), stdout, stderr, summary(stdout));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** The last stdout line that is a JSON object, or null. */
    private static JsonNode summary(String stdout) {
        List<String> lines = stdout.lines().map(String::strip).filter(l -> l.startsWith("{")).toList();
        if (lines.isEmpty()) {
            return null;
        }
        try {
            return JSON.readTree(lines.getLast());
        } catch (RuntimeException e) {
            return null;
        }
    }
}
