package io.tandem.edge.clients;

import java.io.IOException;
import tools.jackson.databind.JsonNode;

/** {@link NodeClients} for real-client checks that live beside the feature they test. */
public final class NodeClientsAccess {

    /** What a script did: its exit status, the end of its output, and its JSON summary line. */
    public record Result(int exitCode, String tail, JsonNode summary) {
    }

    private NodeClientsAccess() {
    }

    public static void requireNode() {
        NodeClients.requireNode(false);
    }

    public static Result run(String script, String... args) throws IOException, InterruptedException {
        NodeClients.Run run = NodeClients.run(script, args);
        return new Result(run.exitCode(), run.tail(), run.summary());
    }
}
