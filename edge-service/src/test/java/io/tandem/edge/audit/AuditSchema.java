package io.tandem.edge.audit;

import com.networknt.schema.Error;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** docs/audit-record.schema.json, the audit line's contract, as a validator. */
public final class AuditSchema {

    public static final Path FILE = Path.of("../docs/audit-record.schema.json");
    private static final Schema SCHEMA;

    static {
        try {
            SCHEMA = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12)
                    .getSchema(Files.readString(FILE), InputFormat.JSON);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private AuditSchema() {}

    /** What is wrong with {@code json} against the schema; empty when it is valid. */
    public static List<String> errors(String json) {
        return SCHEMA.validate(json, InputFormat.JSON).stream().map(Error::toString).toList();
    }
}
