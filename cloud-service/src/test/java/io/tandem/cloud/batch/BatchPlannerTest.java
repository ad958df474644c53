package io.tandem.cloud.batch;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.cloud.batch.BatchPlanner.Decision;
import io.tandem.cloud.batch.BatchPlanner.Waiting;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The planner on a simulated clock: max-wait, full batches, fairness between agents and sessions, solo steps. */
class BatchPlannerTest {

    static final long MS = 1_000_000L;
    final BatchPlanner<String> planner = new BatchPlanner<>(new BatchSettings(4, Duration.ofMillis(5), 16));

    void decode(String agent, long sequence, long atMs) {
        planner.addDecode(new Waiting<>(agent, sequence, agent + sequence, atMs * MS));
    }

    static List<String> rows(Decision<String> decision) {
        assertThat(decision).isInstanceOf(Decision.Batch.class);
        return ((Decision.Batch<String>) decision).rows().stream().map(Waiting::step).toList();
    }

    @Test
    void aLoneStepWaitsAtMostMaxWaitForOthers() {
        decode("a", 1, 10);
        // three sequences are decoding; only one step is here: wait for the rest, but only until 10 + 5 ms
        Decision<String> early = planner.next(11 * MS, 3);
        assertThat(early).isEqualTo(new Decision.Wait<String>(4 * MS));
        decode("a", 2, 12);
        assertThat(planner.next(14 * MS, 3)).isEqualTo(new Decision.Wait<String>(MS));
        assertThat(rows(planner.next(15 * MS, 3))).containsExactly("a1", "a2");
        assertThat(planner.next(15 * MS, 3)).isInstanceOf(Decision.Idle.class);
    }

    @Test
    void aBatchRunsAtOnceWhenEveryDecodingSequenceIsWaitingOrItIsFull() {
        decode("a", 1, 0);
        decode("b", 2, 0);
        assertThat(rows(planner.next(0, 2))).as("nobody else can come").containsExactlyInAnyOrder("a1", "b2");
        for (int i = 0; i < 6; i++) {
            decode("a", 10 + i, 1);
        }
        assertThat(rows(planner.next(MS, 40))).as("max-batch rows wait").hasSize(4);
        assertThat(planner.waiting()).isEqualTo(2);
    }

    @Test
    void anAgentWithManySessionsCannotCrowdOutAnother() {
        for (int i = 0; i < 20; i++) {
            decode("big", i, 0);
        }
        decode("small", 100, 3);
        decode("other", 200, 4);
        List<String> first = rows(planner.next(10 * MS, 22));
        assertThat(first).contains("small100", "other200").hasSize(4);
        // within an agent the oldest go first: big's sessions run in order, none waits more than its turn
        List<String> served = new ArrayList<>(first);
        while (planner.waiting() > 0) {
            served.addAll(rows(planner.next(20 * MS, 22)));
        }
        List<String> big = served.stream().filter(s -> s.startsWith("big")).toList();
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            expected.add("big" + i);
        }
        assertThat(big).containsExactlyElementsOf(expected);
    }

    @Test
    void noSessionStarvesUnderSteadyLoad() {
        // 3 agents, 9 sessions, max-batch 4: every session steps again as soon as its step ran
        Map<String, Integer> stepsPerSession = new HashMap<>();
        for (int s = 0; s < 9; s++) {
            decode("agent" + (s % 3), s, 0);
        }
        long now = 0;
        Map<String, Integer> waitedPasses = new HashMap<>();
        int worstWait = 0;
        for (int pass = 0; pass < 300; pass++) {
            now += MS;
            List<String> batch = rows(planner.next(now, 9));
            assertThat(batch).hasSize(4);
            for (int s = 0; s < 9; s++) {
                String key = "agent" + (s % 3) + s;
                if (batch.contains(key)) {
                    stepsPerSession.merge(key, 1, Integer::sum);
                    waitedPasses.put(key, 0);
                    decode("agent" + (s % 3), s, now / MS);
                } else {
                    int waited = waitedPasses.merge(key, 1, Integer::sum);
                    worstWait = Math.max(worstWait, waited);
                }
            }
        }
        assertThat(stepsPerSession).hasSize(9);
        int min = stepsPerSession.values().stream().min(Integer::compare).orElseThrow();
        int max = stepsPerSession.values().stream().max(Integer::compare).orElseThrow();
        assertThat(max - min).as("steps per session differ by at most a pass's worth").isLessThanOrEqualTo(2);
        assertThat(worstWait).as("passes a waiting step sat out").isLessThanOrEqualTo(3);
    }

    @Test
    void soloStepsAlternateWithDecodeBatchesSoAPromptCannotStallDecoding() {
        planner.addSolo(new Waiting<>("a", 1, "prompt-1", 0));
        planner.addSolo(new Waiting<>("b", 2, "prompt-2", 0));
        decode("c", 3, 0);
        decode("c", 4, 0);
        Decision<String> first = planner.next(MS, 2);
        assertThat(first).isInstanceOf(Decision.Batch.class);
        assertThat(planner.next(MS, 2)).isEqualTo(new Decision.Solo<>(new Waiting<>("a", 1, "prompt-1", 0)));
        decode("c", 3, 1);
        decode("c", 4, 1);
        assertThat(planner.next(2 * MS, 2)).isInstanceOf(Decision.Batch.class);
        // a chunked prompt continues before the next prompt starts
        planner.resumeSolo(new Waiting<>("a", 1, "prompt-1-rest", 2 * MS));
        assertThat(planner.next(2 * MS, 2)).isEqualTo(new Decision.Solo<>(new Waiting<>("a", 1, "prompt-1-rest", 2 * MS)));
        assertThat(planner.next(2 * MS, 2)).isEqualTo(new Decision.Solo<>(new Waiting<>("b", 2, "prompt-2", 0)));
        assertThat(planner.next(2 * MS, 2)).isInstanceOf(Decision.Idle.class);
    }

    @Test
    void removingASequenceDropsItsWaitingSteps() {
        decode("a", 1, 0);
        decode("a", 2, 0);
        planner.addSolo(new Waiting<>("a", 2, "prompt", 0));
        assertThat(planner.remove(2)).extracting(Waiting::step).containsExactlyInAnyOrder("a2", "prompt");
        assertThat(planner.waiting()).isEqualTo(1);
        assertThat(rows(planner.next(0, 1))).containsExactly("a1");
        decode("b", 5, 0);
        planner.addSolo(new Waiting<>("b", 6, "prompt-6", 0));
        assertThat(planner.drain()).extracting(Waiting::step).containsExactlyInAnyOrder("b5", "prompt-6");
        assertThat(planner.waiting()).isZero();
        assertThat(planner.next(0, 1)).isInstanceOf(Decision.Idle.class);
    }
}
