package io.tandem.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;

/**
 * The device registry a test stack's issuer reads (the format 'bin/tandem device' writes): each
 * edge is registered as a device of its own, and the issuer picks new lines up without a restart.
 */
public final class Devices {

    private Devices() {
    }

    /** The registry of the stack logging to {@code logDir}. */
    public static Path file(Path logDir) {
        return logDir.toAbsolutePath().resolve("devices.txt");
    }

    /** The issuer's argument that points it at the registry. */
    public static String issuerArgument(Path logDir) {
        return "--tandem.issuer.devices-file=" + file(logDir);
    }

    /**
     * Registers {@code id} with a fresh secret (stored as {noop}: a test registry) and returns the edge
     * arguments that make an edge authenticate as that device.
     */
    public static synchronized List<String> register(Path logDir, String id) {
        byte[] bytes = new byte[16];
        new SecureRandom().nextBytes(bytes);
        String secret = HexFormat.of().formatHex(bytes);
        try {
            Path file = file(logDir);
            Files.createDirectories(file.getParent());
            // an earlier run's line for the same id would make the registry list it twice
            List<String> lines = new java.util.ArrayList<>(Files.exists(file) ? Files.readAllLines(file) : List.of());
            lines.removeIf(line -> line.startsWith(id + " "));
            lines.add(id + " {noop}" + secret + " active " + Instant.now());
            Path temp = Files.createTempFile(file.getParent(), ".devices", ".tmp");
            Files.write(temp, lines, StandardCharsets.UTF_8);
            Files.move(temp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot register device " + id + " in " + file(logDir), e);
        }
        return List.of("--tandem.device.id=" + id,
                "--spring.security.oauth2.client.registration.tandem-cloud.client-secret=" + secret);
    }
}
