package io.tandem.cloud.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class MessageAssemblerTest {

    private static ByteBuffer bytes(int from, int length) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = (byte) (from + i);
        }
        return ByteBuffer.wrap(b);
    }

    @Test
    void fragmentsJoinIntoTheMessageAndGiveTheirMemoryBack() {
        FragmentMemory memory = new FragmentMemory(1000);
        MessageAssembler assembler = new MessageAssembler(100, memory);
        assertThat(assembler.add(bytes(0, 30), false, false, 5)).isNull();
        assertThat(assembler.startedAt()).isEqualTo(5);
        assertThat(memory.used()).isEqualTo(30);
        assertThat(assembler.add(bytes(30, 40), true, false, 6)).isNull();
        byte[] whole = assembler.add(bytes(70, 30), true, true, 7);
        assertThat(whole).isEqualTo(bytes(0, 100).array());
        assertThat(memory.used()).isZero();
        assertThat(assembler.startedAt()).isEqualTo(-1);
    }

    @Test
    void anUnfragmentedMessagePassesStraightThroughAtTheSizeLimit() {
        FragmentMemory memory = new FragmentMemory(1);
        MessageAssembler assembler = new MessageAssembler(100, memory);
        assertThat(assembler.add(bytes(0, 100), false, true, 0)).isEqualTo(bytes(0, 100).array());
        assertThat(memory.used()).isZero();
    }

    @Test
    void oneByteOverTheLimitIs1009AndFreesWhatWasHeld() {
        FragmentMemory memory = new FragmentMemory(1000);
        MessageAssembler assembler = new MessageAssembler(100, memory);
        assembler.add(bytes(0, 60), false, false, 0);
        assertThat(assembler.add(bytes(0, 39), true, false, 0)).isNull();
        assertThatThrownBy(() -> assembler.add(bytes(0, 2), true, true, 0))
                .isInstanceOfSatisfying(MessageAssembler.Refused.class, e -> assertThat(e.code).isEqualTo(1009))
                .hasMessageContaining("101 bytes exceeds the limit of 100");
        assertThat(memory.used()).isZero();
    }

    @Test
    void sharedMemoryRunsOutWith1013() {
        FragmentMemory memory = new FragmentMemory(50);
        MessageAssembler first = new MessageAssembler(100, memory);
        MessageAssembler second = new MessageAssembler(100, memory);
        first.add(bytes(0, 40), false, false, 0);
        assertThatThrownBy(() -> second.add(bytes(0, 11), false, false, 0))
                .isInstanceOfSatisfying(MessageAssembler.Refused.class, e -> assertThat(e.code).isEqualTo(1013));
        assertThat(memory.used()).isEqualTo(40);
        assertThat(second.add(bytes(0, 10), false, false, 0)).isNull();
        assertThat(memory.used()).isEqualTo(50);
        first.release();
        second.release();
        assertThat(memory.used()).isZero();
    }

    @Test
    void outOfOrderFramesAreProtocolErrors() {
        MessageAssembler assembler = new MessageAssembler(100, new FragmentMemory(1000));
        assertThatThrownBy(() -> assembler.add(bytes(0, 1), true, true, 0))
                .isInstanceOfSatisfying(MessageAssembler.Refused.class, e -> assertThat(e.code).isEqualTo(1002));
        assembler.add(bytes(0, 1), false, false, 0);
        assertThatThrownBy(() -> assembler.add(bytes(0, 1), false, true, 0))
                .isInstanceOfSatisfying(MessageAssembler.Refused.class, e -> assertThat(e.code).isEqualTo(1002));
    }

    @Test
    void closeReasonsAreCutToWhatACloseFrameCarries() {
        assertThat(AgentWebSocketHandler.shorten("short")).isEqualTo("short");
        String longReason = "é".repeat(100);
        String cut = AgentWebSocketHandler.shorten(longReason);
        assertThat(cut.getBytes(java.nio.charset.StandardCharsets.UTF_8).length).isLessThanOrEqualTo(123);
        assertThat(cut).endsWith("...").startsWith("éé");
        assertThat(Arrays.asList(cut.split(""))).doesNotContain("\uFFFD");
    }
}
