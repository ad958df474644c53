package io.tandem.cli.bench;

import ai.onnxruntime.OrtEnvironment;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** What a benchmark table needs to say about the machine it was measured on. */
public record MachineFacts(int cores, String os, String cpu, long totalMemoryBytes, String java, String onnxRuntime) {

    public static MachineFacts current() {
        return new MachineFacts(Runtime.getRuntime().availableProcessors(),
                System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"),
                cpuModel(), totalMemory(),
                System.getProperty("java.runtime.version", System.getProperty("java.version"))
                        + " (" + System.getProperty("java.vendor", "unknown vendor") + ")",
                onnxRuntimeVersion());
    }

    /** One line: cores, CPU, memory, OS, Java, ONNX Runtime. */
    public String describe() {
        String memory = totalMemoryBytes > 0
                ? String.format(Locale.ROOT, "%.1f GiB RAM", totalMemoryBytes / (double) (1L << 30))
                : "RAM unknown";
        return cores + " cores, " + cpu + ", " + memory + ", " + os + ", Java " + java + ", ONNX Runtime " + onnxRuntime;
    }

    static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                int colon = line.indexOf(':');
                if (colon > 0) {
                    String key = line.substring(0, colon).trim();
                    if (key.equals("model name") || key.equals("Hardware") || key.equals("Model")) {
                        return line.substring(colon + 1).trim();
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return "CPU model unknown";
    }

    static long totalMemory() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getTotalMemorySize();
        }
        return -1;
    }

    static String onnxRuntimeVersion() {
        try {
            return OrtEnvironment.getEnvironment().getVersion();
        } catch (Throwable e) {
            return "unknown";
        }
    }
}
