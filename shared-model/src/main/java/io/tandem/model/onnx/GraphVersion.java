package io.tandem.model.onnx;

/** The graph builder's version: bump it whenever the same inputs would produce a different graph. */
public final class GraphVersion {
    public static final String BUILDER_VERSION = "2";

    private GraphVersion() {
    }
}
