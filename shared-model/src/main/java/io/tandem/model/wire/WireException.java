package io.tandem.model.wire;

import java.util.Objects;

/**
 * The only exception the decoders throw. Unchecked, so that reactive pipelines can carry it as an
 * error signal; the {@link #kind()} decides the close code.
 */
public final class WireException extends RuntimeException {

    private final WireError kind;

    public WireException(WireError kind, String message) {
        super(Objects.requireNonNull(kind, "kind") + ": " + message);
        this.kind = kind;
    }

    public WireException(WireError kind, String message, Throwable cause) {
        super(Objects.requireNonNull(kind, "kind") + ": " + message, cause);
        this.kind = kind;
    }

    public WireError kind() {
        return kind;
    }

    /** Shortcut for {@code kind().closeCode()}. */
    public int closeCode() {
        return kind.closeCode();
    }
}
