package io.tandem.cloud.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import reactor.test.StepVerifier;

class OutboundQueueTest {

    @Test
    void refusesPastItsByteBoundAndCountsWhatLeaves() {
        AtomicLong total = new AtomicLong();
        OutboundQueue queue = new OutboundQueue(16, 100, total);
        assertThat(queue.offer(new byte[60])).isTrue();
        assertThat(queue.offer(new byte[40])).isTrue();
        assertThat(queue.offer(new byte[1])).as("101 bytes").isFalse();
        assertThat(queue.queuedBytes()).isEqualTo(100);
        assertThat(total.get()).isEqualTo(100);
        StepVerifier.create(queue.frames(), 1).expectNextCount(1).then(() -> {
            assertThat(queue.queuedBytes()).isEqualTo(40);
            assertThat(queue.offer(new byte[60])).isTrue();
        }).thenCancel().verify();
        assertThat(total.get()).as("what was still queued stops counting").isZero();
    }

    @Test
    void refusesPastItsFrameBound() {
        OutboundQueue queue = new OutboundQueue(8, 1 << 20, new AtomicLong());
        for (int i = 0; i < 8; i++) {
            assertThat(queue.offer(new byte[1])).isTrue();
        }
        assertThat(queue.offer(new byte[1])).isFalse();
        assertThat(queue.queuedBytes()).isEqualTo(8);
    }
}
