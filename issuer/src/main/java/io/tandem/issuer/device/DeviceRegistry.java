package io.tandem.issuer.device;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The devices allowed to ask for tokens, one per line in a text file:
 * {@code <device id> <secret hash> active|revoked <registered at>}, {@code #} starts a comment.
 * The hash is in Spring Security's {@code {id}hash} form ({@code {bcrypt}} from the device
 * command). Plain Java: the issuer reads the file, {@code bin/tandem device} writes it, atomically.
 */
public final class DeviceRegistry {

    /** A device id: lower-case letters, digits, '.', '_' and '-', starting with a letter or digit, at most 64. */
    public static final Pattern DEVICE_ID = Pattern.compile("[a-z0-9][a-z0-9._-]{0,63}");

    public enum State { ACTIVE, REVOKED }

    public record Device(String id, String secretHash, State state, Instant registeredAt) {
        public Device {
            if (!DEVICE_ID.matcher(id).matches()) {
                throw new IllegalArgumentException("device id '" + id + "' is not valid: use 1-64 of a-z, 0-9, '.', '_', '-',"
                        + " starting with a letter or digit");
            }
            if (!secretHash.startsWith("{") || secretHash.indexOf('}') < 2 || secretHash.chars().anyMatch(Character::isWhitespace)) {
                throw new IllegalArgumentException("the secret of device " + id + " is not a {id}hash password hash");
            }
        }

        String line() {
            return id + " " + secretHash + " " + state.name().toLowerCase(java.util.Locale.ROOT) + " " + registeredAt;
        }
    }

    private final Path file;

    public DeviceRegistry(Path file) {
        this.file = file;
    }

    public Path file() {
        return file;
    }

    /** Every device in the file, in file order; an absent file holds none. */
    public Map<String, Device> read() {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return Map.of();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the device registry " + file, e);
        }
        Map<String, Device> devices = new LinkedHashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String[] fields = line.split("\\s+");
            String where = file + " line " + (i + 1) + ": ";
            if (fields.length != 4) {
                throw new IllegalArgumentException(where + "expected '<device id> <secret hash> active|revoked <registered at>',"
                        + " found " + fields.length + " fields");
            }
            try {
                State state = switch (fields[2]) {
                    case "active" -> State.ACTIVE;
                    case "revoked" -> State.REVOKED;
                    default -> throw new IllegalArgumentException("state '" + fields[2] + "' is neither active nor revoked");
                };
                Device device = new Device(fields[0], fields[1], state, Instant.parse(fields[3]));
                if (devices.putIfAbsent(device.id(), device) != null) {
                    throw new IllegalArgumentException("device " + device.id() + " is listed twice");
                }
            } catch (IllegalArgumentException | java.time.format.DateTimeParseException e) {
                throw new IllegalArgumentException(where + e.getMessage(), e);
            }
        }
        return devices;
    }

    public Optional<Device> find(String id) {
        return Optional.ofNullable(read().get(id));
    }

    /** Adds a new active device; refuses an id that is already listed, active or revoked. */
    public Device add(String id, String secretHash, Instant now) {
        Map<String, Device> devices = new LinkedHashMap<>(read());
        if (devices.containsKey(id)) {
            throw new IllegalArgumentException("device " + id + " is already registered in " + file
                    + (devices.get(id).state() == State.REVOKED ? " (revoked; ids are not reused)" : ""));
        }
        Device device = new Device(id, secretHash, State.ACTIVE, now);
        devices.put(id, device);
        write(devices);
        return device;
    }

    /** Revokes a device: the issuer gives it no more tokens. */
    public Device revoke(String id) {
        Map<String, Device> devices = new LinkedHashMap<>(read());
        Device device = devices.get(id);
        if (device == null) {
            throw new IllegalArgumentException("no device " + id + " in " + file);
        }
        Device revoked = new Device(id, device.secretHash(), State.REVOKED, device.registeredAt());
        devices.put(id, revoked);
        write(devices);
        return revoked;
    }

    private void write(Map<String, Device> devices) {
        List<String> lines = new ArrayList<>();
        lines.add("# Tandem devices: <device id> <secret hash> active|revoked <registered at>");
        lines.add("# Written by 'bin/tandem device'; the issuer rereads this file when it changes.");
        devices.values().forEach(d -> lines.add(d.line()));
        try {
            Path dir = file.toAbsolutePath().getParent();
            Files.createDirectories(dir);
            Path temp = Files.createTempFile(dir, ".devices", ".tmp");
            Files.write(temp, lines, StandardCharsets.UTF_8);
            try {
                Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the device registry " + file, e);
        }
    }
}
