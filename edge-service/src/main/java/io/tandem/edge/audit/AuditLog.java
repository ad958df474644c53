package io.tandem.edge.audit;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.json.JsonMapper;

/**
 * The audit trail: one JSON line per routing decision, appended and flushed as each request ends,
 * so a crash loses at most the line being written and never corrupts earlier ones. Field names are
 * snake_case, as in the rest of the API.
 */
public final class AuditLog implements AutoCloseable {

    private static final JsonMapper MAPPER = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE).build();

    private final Path file;
    private final BufferedWriter out;
    private final String device;

    /** Opens {@code file} for appending, creating it and its folder; null keeps no file (records still serialise). */
    public AuditLog(Path file, String device) {
        this.file = file;
        this.device = device;
        if (file == null) {
            this.out = null;
            return;
        }
        try {
            if (file.toAbsolutePath().getParent() != null) {
                Files.createDirectories(file.toAbsolutePath().getParent());
            }
            this.out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the audit log " + file + ": " + e.getMessage(), e);
        }
    }

    /** The device whose decisions this trail records. */
    public String device() {
        return device;
    }

    public Path file() {
        return file;
    }

    /** The record as one line of JSON. */
    public static String line(AuditRecord record) {
        return MAPPER.writeValueAsString(record);
    }

    /** The record as a JSON tree of maps and lists, for embedding in a response. */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> tree(AuditRecord record) {
        return MAPPER.convertValue(record, Map.class);
    }

    public void append(AuditRecord record) {
        if (out == null) {
            return;
        }
        String line = line(record);
        synchronized (this) {
            try {
                out.write(line);
                out.newLine();
                out.flush();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write the audit log " + file + ": " + e.getMessage(), e);
            }
        }
    }

    @Override
    public synchronized void close() throws IOException {
        if (out != null) {
            out.close();
        }
    }
}
