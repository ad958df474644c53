package io.tandem.cli.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Reads this process's memory figures from {@code /proc/self/status} (Linux only). */
public final class ProcStatus {

    private static final Path STATUS = Path.of("/proc/self/status");

    private ProcStatus() {
    }

    /** Peak resident set size in KiB, or -1 without /proc. */
    public static long peakRssKib() {
        return field("VmHWM:");
    }

    /** Current resident set size in KiB, or -1 without /proc. */
    public static long rssKib() {
        return field("VmRSS:");
    }

    static long field(String name) {
        try {
            return parse(Files.readAllLines(STATUS), name);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** The value in KiB of {@code name} ("VmHWM:") in status lines, or -1 if absent. */
    static long parse(List<String> lines, String name) {
        for (String line : lines) {
            if (line.startsWith(name)) {
                String[] parts = line.substring(name.length()).trim().split("\\s+");
                return Long.parseLong(parts[0]);
            }
        }
        return -1;
    }
}
