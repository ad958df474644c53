package io.tandem.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * One Tandem service as its users run it: {@code java -jar} on its built jar with the repository's
 * config/ values, on a port of its own, its output in a log file.
 */
public final class ServiceProcess implements AutoCloseable {

    private final String name;
    private final int port;
    private final Process process;
    private final Path log;

    private ServiceProcess(String name, int port, Process process, Path log) {
        this.name = name;
        this.port = port;
        this.process = process;
        this.log = log;
    }

    /** The repository root: the folder holding config/ and the modules, found upwards from here. */
    public static Path repositoryRoot() {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !Files.isDirectory(dir.resolve("config"))) {
            dir = dir.getParent();
        }
        if (dir == null) {
            throw new IllegalStateException("cannot find the repository root (a folder with config/) above "
                    + Path.of("").toAbsolutePath());
        }
        return dir;
    }

    /** The built jar of {@code module}; tells how to build it when it is missing. */
    public static Path jar(String module) {
        Path jar = repositoryRoot().resolve(module).resolve("target").resolve(module + ".jar");
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException(jar + " is missing: build it first (./mvnw verify builds every module"
                    + " before e2e; or ./mvnw -pl " + module + " -am package -DskipTests)");
        }
        return jar;
    }

    public static int freePort() {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Starts {@code module}'s jar with config/{@code configName}.yml on {@code port}, plus {@code args}
     * (Spring properties as --name=value).
     */
    public static ServiceProcess start(String module, String configName, int port, List<String> args, Path logDir) {
        return start(module, configName, port, args, logDir, TEST_JVM_OPTIONS);
    }

    /**
     * JVM options for tests: quick to start and small (C1 only, serial GC, 768 MiB heap), since
     * tests start several services at once. A benchmark passes what bin/tandem uses instead.
     */
    public static final List<String> TEST_JVM_OPTIONS = List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-Xss512k", "-Xmx768m");

    /** As {@link #start(String, String, int, List, Path)}, with these JVM options instead of the tests' ones. */
    public static ServiceProcess start(String module, String configName, int port, List<String> args, Path logDir,
                                       List<String> jvmOptions) {
        Path root = repositoryRoot();
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> command = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED",
                "--sun-misc-unsafe-memory-access=allow"));
        command.addAll(jvmOptions);
        command.addAll(List.of("-jar", jar(module).toString(),
                "--spring.config.additional-location=optional:file:" + root.resolve("config") + "/",
                "--spring.config.name=application," + configName,
                "--server.port=" + port));
        command.addAll(args);
        try {
            Files.createDirectories(logDir);
            Path log = logDir.resolve(module + "-" + port + ".log");
            Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            return new ServiceProcess(module, port, process, log);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + module, e);
        }
    }

    public int port() {
        return port;
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + port;
    }

    public Path log() {
        return log;
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Waits until /actuator/health says UP; on failure the message carries the end of the log. */
    public ServiceProcess awaitHealthy(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build()) {
            while (System.nanoTime() < deadline) {
                if (!process.isAlive()) {
                    throw new IllegalStateException(name + " exited with " + process.exitValue() + " while starting:\n" + tail());
                }
                try {
                    HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(baseUrl() + "/actuator/health"))
                            .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
                    if (response.statusCode() == 200 && response.body().contains("\"status\":\"UP\"")) {
                        return this;
                    }
                } catch (IOException e) {
                    // not listening yet
                }
                Thread.sleep(200);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        throw new IllegalStateException(name + " did not become healthy within " + timeout + ":\n" + tail());
    }

    public String tail() {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    /** kill -9: no shutdown hooks, no goodbye to the agents. */
    public void kill() {
        process.destroyForcibly();
        try {
            process.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(15, java.util.concurrent.TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }
}
