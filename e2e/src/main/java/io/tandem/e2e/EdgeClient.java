package io.tandem.e2e;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Talks to an edge as a kiosk does: plain HTTP, JSON in, JSON or server-sent events out. Used by
 * the end-to-end tests and by {@link LinkBenchmark}; a status other than 200 is an AssertionError.
 */
final class EdgeClient {

    static final JsonMapper JSON = JsonMapper.builder().build();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final String base;

    EdgeClient(String base) {
        this.base = base;
    }

    JsonNode complete(String body) throws IOException, InterruptedException {
        HttpResponse<String> response = http.send(post(body), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new AssertionError("HTTP " + response.statusCode() + ": " + response.body());
        }
        return JSON.readTree(response.body());
    }

    /** A chat completion (POST /v1/chat/completions) that must succeed. */
    JsonNode chat(String body) throws IOException, InterruptedException {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
                .header("Content-Type", "application/json").timeout(Duration.ofSeconds(120))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new AssertionError("HTTP " + response.statusCode() + ": " + response.body());
        }
        return JSON.readTree(response.body());
    }

    /** Opens a streamed completion; read it event by event. */
    BufferedReader stream(String body) throws IOException, InterruptedException {
        HttpResponse<InputStream> response = http.send(post(body), HttpResponse.BodyHandlers.ofInputStream());
        if (response.statusCode() != 200) {
            throw new AssertionError("HTTP " + response.statusCode() + ": " + new String(response.body().readAllBytes()));
        }
        return new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8));
    }

    /** What a streamed completion delivered: its text, the chunk carrying {@code tandem}, the usage chunk's usage. */
    record Streamed(String text, int textChunks, JsonNode finish, JsonNode usage) {
    }

    /**
     * Streams a completion to its end, running {@code interruption} (kill the cloud, reset the link)
     * once {@code afterChunks} chunks of text have arrived.
     */
    Streamed streamInterrupted(String body, int afterChunks, Runnable interruption) throws IOException, InterruptedException {
        StringBuilder text = new StringBuilder();
        JsonNode finish = null;
        JsonNode usage = null;
        int chunks = 0;
        try (BufferedReader reader = stream(body)) {
            String data;
            while ((data = nextData(reader)) != null && !data.equals("[DONE]")) {
                JsonNode chunk = JSON.readTree(data);
                JsonNode piece = chunk.at("/choices/0/text");
                if (piece.isString() && !piece.stringValue().isEmpty()) {
                    text.append(piece.stringValue());
                    if (++chunks == afterChunks) {
                        interruption.run();
                    }
                }
                if (chunk.has("tandem")) {
                    finish = chunk;
                }
                if (chunk.has("usage") && !chunk.get("usage").isNull()) {
                    usage = chunk.get("usage");
                }
            }
        }
        return new Streamed(text.toString(), chunks, finish, usage);
    }

    /** The next SSE data payload, or null at the end of the stream. */
    static String nextData(BufferedReader reader) throws IOException {
        String line;
        while ((line = reader.readLine()) != null) {
            if (line.startsWith("data:")) {
                return line.substring(5).trim();
            }
        }
        return null;
    }

    String get(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create(base + path)).build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    private HttpRequest post(String body) {
        return HttpRequest.newBuilder(URI.create(base + "/v1/completions"))
                .header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(120))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }

    static String request(String prompt, int maxTokens, boolean stream, String route, Integer splitLayer) {
        // the e2e tests read the routing trace, which the edge sends only when asked
        StringBuilder tandem = new StringBuilder("{\"route\":\"" + route + "\",\"trace\":true");
        if (splitLayer != null) {
            tandem.append(",\"split_layer\":").append(splitLayer);
        }
        tandem.append('}');
        return "{\"prompt\":" + JSON.writeValueAsString(prompt) + ",\"max_tokens\":" + maxTokens
                + ",\"temperature\":0,\"stream\":" + stream + ",\"stream_options\":{\"include_usage\":" + stream + "}"
                .replace(",\"stream_options\":{\"include_usage\":false}", "")
                + ",\"tandem\":" + tandem + "}";
    }
}
