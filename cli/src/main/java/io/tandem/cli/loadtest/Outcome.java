package io.tandem.cli.loadtest;

/** How one request ended. Everything but {@link #OK} and {@link #REJECTED} is an error. */
public enum Outcome {
    /** 200 and an event stream that ended with {@code data: [DONE]}. */
    OK("ok"),
    /** 429: every slot and the wait queue were full. */
    REJECTED("429"),
    /** Any other HTTP status. */
    HTTP_ERROR("http error"),
    /** 200, but the stream ended without {@code [DONE]}. */
    INCOMPLETE("stream without [DONE]"),
    /** 200 and {@code [DONE]}, but an error event or unreadable data on the way. */
    STREAM_ERROR("error in stream"),
    /** No response or the connection broke: refused, reset, closed. */
    TRANSPORT("transport error"),
    /** No end within {@code --timeout}. */
    TIMEOUT("timeout");

    public final String label;

    Outcome(String label) {
        this.label = label;
    }

    public boolean error() {
        return this != OK && this != REJECTED;
    }
}
