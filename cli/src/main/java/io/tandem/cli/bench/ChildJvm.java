package io.tandem.cli.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Starts {@link BenchWorker} for one configuration in a child JVM: the same java binary and
 * class path, native access enabled, and a heap of {@link #HEAP_FRACTION} of physical memory.
 */
public final class ChildJvm {

    /** Share of physical memory the child's heap may grow to. */
    public static final double HEAP_FRACTION = 0.75;
    private static final int KEPT_LINES = 30;

    /** The outcome of one child: a result, or the reason there is none. */
    public record Outcome(BenchResult result, String failure, List<String> outputTail) {
        public boolean ok() {
            return result != null;
        }
    }

    private ChildJvm() {
    }

    /** The child's command line. */
    public static List<String> command(BenchConfig config) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        if (Runtime.version().feature() >= 23) {
            cmd.add("--sun-misc-unsafe-memory-access=allow");
        }
        cmd.add("-Xmx" + heapMib() + "m");
        cmd.add("-Xms64m");
        // G1 gives the collected fp32 weights back to the OS after the explicit GC, so the RSS
        // sampled while decoding is what serving the model costs.
        cmd.add("-XX:+UseG1GC");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(BenchWorker.class.getName());
        cmd.addAll(config.toArgs());
        return cmd;
    }

    static long heapMib() {
        long total = MachineFacts.totalMemory();
        if (total <= 0) {
            return 4096;
        }
        return Math.max(512, (long) (total * HEAP_FRACTION) >> 20);
    }

    /** Runs the child to its end. */
    public static Outcome run(BenchConfig config) throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder(command(config)).redirectErrorStream(true);
        Process process = builder.start();
        BenchResult result = null;
        String error = null;
        Deque<String> tail = new ArrayDeque<>();
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = reader.readLine()) != null) {
                if (line.startsWith(BenchResult.PREFIX)) {
                    result = BenchResult.parse(line);
                } else if (line.startsWith(BenchResult.ERROR_PREFIX)) {
                    error = line.substring(BenchResult.ERROR_PREFIX.length());
                } else {
                    tail.addLast(line);
                    if (tail.size() > KEPT_LINES) {
                        tail.removeFirst();
                    }
                }
            }
        } finally {
            if (process.isAlive()) {
                process.destroy();
            }
        }
        int status = process.waitFor();
        if (result != null && status == 0) {
            return new Outcome(result, null, List.copyOf(tail));
        }
        String why = error != null ? error
                : status == 137 || status == 9 ? "killed (exit " + status + "), probably out of memory"
                : "the child JVM exited with status " + status + " without a result";
        return new Outcome(null, why, List.copyOf(tail));
    }
}
