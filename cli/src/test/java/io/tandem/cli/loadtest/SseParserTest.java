package io.tandem.cli.loadtest;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SseParserTest {

    /** What the edge (Spring WebFlux) writes: {@code data:} without a space; one with a space as OpenAI writes it. */
    static final String GOLDEN = String.join("",
            "data:{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n",
            "data:{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" Once\"}}]}\n\n",
            ": a comment line\n",
            "event: message\nid: 7\nretry: 100\n",
            "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" déjà\"}}]}\r\n\r\n",
            "data:{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]}\r\r",
            "data:[DONE]\n\n");

    static final List<SseParser.Event> EXPECTED = List.of(
            new SseParser.Event("{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}"),
            new SseParser.Event("{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" Once\"}}]}"),
            new SseParser.Event("{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" déjà\"}}]}"),
            new SseParser.Event("{\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]}"),
            new SseParser.Event("[DONE]"));

    static List<SseParser.Event> parse(String... chunks) {
        List<SseParser.Event> events = new ArrayList<>();
        SseParser.State state = SseParser.State.START;
        for (String chunk : chunks) {
            SseParser.Step step = SseParser.step(state, chunk);
            events.addAll(step.events());
            state = step.state();
        }
        events.addAll(SseParser.finish(state));
        return events;
    }

    @Test
    void goldenStreamInOneRead() {
        assertThat(parse(GOLDEN)).isEqualTo(EXPECTED);
        assertThat(EXPECTED.getLast().done()).isTrue();
        assertThat(EXPECTED.subList(0, 4)).noneMatch(SseParser.Event::done);
    }

    @Test
    void goldenStreamSplitAtEveryPositionGivesTheSameEvents() {
        for (int i = 0; i <= GOLDEN.length(); i++) {
            assertThat(parse(GOLDEN.substring(0, i), GOLDEN.substring(i))).as("split at %d", i).isEqualTo(EXPECTED);
        }
        assertThat(parse(GOLDEN.split(""))).as("one character per read").isEqualTo(EXPECTED);
    }

    @Test
    void aChunkSplitInsideTheDataLineWaitsForItsEnd() {
        SseParser.Step first = SseParser.step(SseParser.State.START, "data:{\"choices\":[{\"delta\":{\"cont");
        assertThat(first.events()).isEmpty();
        assertThat(first.state().partialLine()).isEqualTo("data:{\"choices\":[{\"delta\":{\"cont");
        SseParser.Step second = SseParser.step(first.state(), "ent\":\"Hi\"}}]}\n");
        assertThat(second.events()).as("no blank line yet").isEmpty();
        SseParser.Step third = SseParser.step(second.state(), "\ndata: [DO");
        assertThat(third.events()).containsExactly(new SseParser.Event("{\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}"));
        SseParser.Step fourth = SseParser.step(third.state(), "NE]\n\n");
        assertThat(fourth.events()).containsExactly(new SseParser.Event("[DONE]"));
        assertThat(fourth.events().getFirst().done()).isTrue();
        assertThat(fourth.state()).isEqualTo(SseParser.State.START);
    }

    @Test
    void onlyOneSpaceAfterTheColonIsDroppedAndDataLinesJoin() {
        assertThat(parse("data:  two spaces\n\ndata:a\ndata:b\n\ndata\n\n")).containsExactly(
                new SseParser.Event(" two spaces"), new SseParser.Event("a\nb"), new SseParser.Event(""));
    }

    @Test
    void aProblemJsonBodyHasNoEvents() {
        String compact = "{\"type\":\"https://tandem.dev/problems/overloaded\",\"title\":\"Too Many Requests\",\"status\":429,"
                + "\"detail\":\"all 2 generation slots are busy and 0 requests wait; retry after 1 s\","
                + "\"instance\":\"/v1/chat/completions\"}";
        String pretty = """
                {
                  "type": "https://tandem.dev/problems/overloaded",
                  "title": "Too Many Requests",
                  "status": 429,
                  "detail": "data: busy"
                }
                """;
        assertThat(parse(compact)).isEmpty();
        assertThat(parse(pretty)).isEmpty();
    }

    @Test
    void theEndOfTheStreamDispatchesAnUnfinishedEvent() {
        assertThat(parse("data: {\"a\":1}\n\ndata: [DONE]")).containsExactly(
                new SseParser.Event("{\"a\":1}"), new SseParser.Event("[DONE]"));
        assertThat(parse("data: {\"a\":1}\n\n")).containsExactly(new SseParser.Event("{\"a\":1}"));
    }

    @Test
    void chunksGiveContentOrError() {
        List<Chunks.Chunk> chunks = EXPECTED.subList(0, 4).stream().map(e -> Chunks.read(e.data())).toList();
        assertThat(chunks).extracting(Chunks.Chunk::content).containsExactly("", " Once", " déjà", "");
        assertThat(chunks).extracting(Chunks.Chunk::error).containsOnlyNulls();
        assertThat(Chunks.read("{\"choices\":[{\"index\":0,\"text\":\" plain\"}]}").content()).isEqualTo(" plain");
        assertThat(Chunks.read("{\"error\":{\"message\":\"boom\",\"type\":\"internal-error\"}}").error())
                .isEqualTo("error event: boom");
        assertThat(Chunks.read("not json").error()).startsWith("data is not JSON");
    }
}
