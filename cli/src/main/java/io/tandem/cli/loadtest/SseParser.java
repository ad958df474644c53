package io.tandem.cli.loadtest;

import java.util.ArrayList;
import java.util.List;

/**
 * Server-sent events as a pure function of what has arrived so far: {@link #step} takes the state
 * left by the previous read and the next chunk of text (which may end in the middle of a line),
 * and returns the events completed by it and the state to carry on. Follows the WHATWG
 * event-stream rules that matter here: lines end with CRLF, LF or CR; {@code data:} with or
 * without one space after the colon; several data lines join with newlines; a blank line
 * dispatches the event; comments ({@code :...}) and other fields are ignored. A line that is not
 * a field at all, such as a problem+json body, is an unknown field and is ignored too.
 */
public final class SseParser {

    private SseParser() {
    }

    /** What is carried from one read to the next: an unfinished line and data lines of an undispatched event. */
    public record State(String partialLine, List<String> data, boolean lastWasCr) {
        public State {
            data = List.copyOf(data);
        }

        public static final State START = new State("", List.of(), false);
    }

    /** One dispatched event's data; {@code [DONE]} is OpenAI's end-of-stream marker. */
    public record Event(String data) {
        public boolean done() {
            return "[DONE]".equals(data);
        }
    }

    /** The events completed by one chunk, and the state to pass with the next. */
    public record Step(List<Event> events, State state) {
    }

    /** Parses {@code chunk} after {@code state}; neither is changed. */
    public static Step step(State state, String chunk) {
        List<Event> events = new ArrayList<>();
        List<String> data = new ArrayList<>(state.data());
        StringBuilder line = new StringBuilder(state.partialLine());
        boolean lastWasCr = state.lastWasCr();
        for (int i = 0; i < chunk.length(); i++) {
            char c = chunk.charAt(i);
            if (c == '\n' && lastWasCr) {  // the LF of a CRLF whose CR ended the previous line
                lastWasCr = false;
                continue;
            }
            lastWasCr = c == '\r';
            if (c == '\n' || c == '\r') {
                line(line.toString(), data, events);
                line.setLength(0);
            } else {
                line.append(c);
            }
        }
        return new Step(events, new State(line.toString(), data, lastWasCr));
    }

    /**
     * The end of the stream: an unfinished last line counts as a line, and data not yet followed
     * by a blank line is dispatched (leniently: the standard would drop it).
     */
    public static List<Event> finish(State state) {
        List<Event> events = new ArrayList<>();
        List<String> data = new ArrayList<>(state.data());
        if (!state.partialLine().isEmpty()) {
            line(state.partialLine(), data, events);
        }
        if (!data.isEmpty()) {
            events.add(new Event(String.join("\n", data)));
        }
        return events;
    }

    private static void line(String line, List<String> data, List<Event> events) {
        if (line.isEmpty()) {
            if (!data.isEmpty()) {
                events.add(new Event(String.join("\n", data)));
                data.clear();
            }
            return;
        }
        if (line.startsWith(":")) {
            return;  // comment
        }
        int colon = line.indexOf(':');
        String field = colon < 0 ? line : line.substring(0, colon);
        if (!field.equals("data")) {
            return;  // event, id, retry and anything unknown
        }
        String value = colon < 0 ? "" : line.substring(colon + 1);
        data.add(value.startsWith(" ") ? value.substring(1) : value);
    }
}
