package io.tandem.model.export;

import com.google.protobuf.TextFormat;
import io.tandem.model.export.triton.ModelConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads a {@code config.pbtxt} the way Triton does: protobuf text format against Triton's
 * {@code model_config.proto} (written into this module with the same messages and field numbers).
 * A config that does not parse is refused with the file, line and column, before any Triton sees it.
 */
public final class TritonConfigCheck {

    /** A config Triton would refuse: where and why. */
    public static final class InvalidConfigException extends IllegalArgumentException {
        private final int line;
        private final int column;

        InvalidConfigException(String source, int line, int column, String detail) {
            super(source + ":" + line + ":" + column + ": not a valid Triton model config: " + detail);
            this.line = line;
            this.column = column;
        }

        public int line() {
            return line;
        }

        public int column() {
            return column;
        }
    }

    private TritonConfigCheck() {
    }

    /** Parses {@code text}; {@code source} names it in the error. */
    public static ModelConfig parse(String text, String source) {
        ModelConfig.Builder config = ModelConfig.newBuilder();
        try {
            TextFormat.getParser().merge(text, config);
        } catch (TextFormat.ParseException e) {
            throw new InvalidConfigException(source, e.getLine(), e.getColumn(), e.getMessage());
        }
        return config.build();
    }

    public static ModelConfig read(Path file) throws IOException {
        return parse(Files.readString(file), file.toString());
    }
}
