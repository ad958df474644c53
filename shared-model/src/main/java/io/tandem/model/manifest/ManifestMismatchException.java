package io.tandem.model.manifest;

/** Two partitions, or a manifest and a graph, that do not belong together. */
public final class ManifestMismatchException extends IllegalArgumentException {
    public ManifestMismatchException(String message) {
        super(message);
    }
}
