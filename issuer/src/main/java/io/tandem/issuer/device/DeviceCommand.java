package io.tandem.issuer.device;

import java.io.PrintStream;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.springframework.security.crypto.factory.PasswordEncoderFactories;
import org.springframework.security.crypto.password.PasswordEncoder;

/**
 * {@code bin/tandem device add|revoke|list [--file PATH]}: registers a device with a fresh
 * secret (printed once, stored only as a bcrypt hash), revokes one, or lists them.
 */
public final class DeviceCommand {

    public static final String DEFAULT_FILE = "devices.txt";
    private static final String USAGE = """
            usage: tandem device add <device-id> [--file PATH]     register a device; prints its secret once
                   tandem device revoke <device-id> [--file PATH]  the issuer gives it no more tokens
                   tandem device list [--file PATH]                the registered devices
            PATH is the issuer's tandem.issuer.devices-file (default: %s)""".formatted(DEFAULT_FILE);

    private DeviceCommand() {
    }

    /** Runs the command; returns the exit status (0 done, 1 refused, 2 bad usage). */
    public static int run(List<String> args, PrintStream out, PrintStream err) {
        List<String> positional = new ArrayList<>();
        Path file = Path.of(DEFAULT_FILE);
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            if (arg.equals("--file") && i + 1 < args.size()) {
                file = Path.of(args.get(++i));
            } else if (arg.startsWith("--file=")) {
                file = Path.of(arg.substring("--file=".length()));
            } else if (arg.equals("-h") || arg.equals("--help")) {
                out.println(USAGE);
                return 0;
            } else if (arg.startsWith("-")) {
                err.println("tandem device: unknown option '" + arg + "'\n" + USAGE);
                return 2;
            } else {
                positional.add(arg);
            }
        }
        if (positional.isEmpty()) {
            err.println(USAGE);
            return 2;
        }
        DeviceRegistry registry = new DeviceRegistry(file);
        try {
            switch (positional.get(0)) {
                case "add" -> {
                    String id = only(positional);
                    String secret = newSecret();
                    PasswordEncoder encoder = PasswordEncoderFactories.createDelegatingPasswordEncoder();
                    registry.add(id, encoder.encode(secret), Instant.now());
                    out.println(secret);
                    err.println("tandem device: registered " + id + " in " + file + "; the line above is its secret,"
                            + " shown only now: give it to the edge as its client secret");
                }
                case "revoke" -> {
                    String id = only(positional);
                    registry.revoke(id);
                    err.println("tandem device: revoked " + id + " in " + file + "; it gets no new tokens (tokens it holds"
                            + " stay valid until they expire)");
                }
                case "list" -> {
                    if (positional.size() != 1) {
                        throw new IllegalArgumentException("list takes no device id");
                    }
                    registry.read().values().forEach(d -> out.println(d.id() + "\t"
                            + d.state().name().toLowerCase(java.util.Locale.ROOT) + "\t" + d.registeredAt()));
                }
                default -> {
                    err.println("tandem device: unknown action '" + positional.get(0) + "'\n" + USAGE);
                    return 2;
                }
            }
            return 0;
        } catch (IllegalArgumentException | java.io.UncheckedIOException e) {
            err.println("tandem device: " + e.getMessage());
            return 1;
        }
    }

    private static String only(List<String> positional) {
        if (positional.size() != 2) {
            throw new IllegalArgumentException(positional.get(0) + " takes exactly one device id");
        }
        return positional.get(1);
    }

    /** 32 random bytes, URL-safe base64: 256 bits, no characters a shell or a properties file treats specially. */
    static String newSecret() {
        byte[] bytes = new byte[32];
        new SecureRandom().nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }
}
