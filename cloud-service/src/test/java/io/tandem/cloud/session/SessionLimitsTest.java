package io.tandem.cloud.session;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SessionLimitsTest {

    @Test
    void theReservedSlotsOnlyGoToADevicesFirstSession() {
        SessionLimits limits = new SessionLimits(3, 6, 2);
        // two busy devices: together they may take 4 of 6, never the reserved last 2
        assertThat(limits.tryAcquire("a")).isNull();
        assertThat(limits.tryAcquire("a")).isNull();
        assertThat(limits.tryAcquire("b")).isNull();
        assertThat(limits.tryAcquire("b")).isNull();
        assertThat(limits.tryAcquire("a")).contains("keeps its last 2 of 6");
        assertThat(limits.tryAcquire("b")).contains("keeps its last 2 of 6");
        // newcomers get them
        assertThat(limits.tryAcquire("c")).isNull();
        assertThat(limits.tryAcquire("d")).isNull();
        assertThat(limits.tryAcquire("e")).contains("the cloud has 6 sessions open");
        assertThat(limits.open()).isEqualTo(6);
        assertThat(limits.openBy("a")).isEqualTo(2);
        limits.release("c");
        assertThat(limits.tryAcquire("c")).isNull();
    }

    @Test
    void perDeviceLimitHoldsBelowTheReserve() {
        SessionLimits limits = new SessionLimits(2, 10, 1);
        assertThat(limits.tryAcquire("a")).isNull();
        assertThat(limits.tryAcquire("a")).isNull();
        assertThat(limits.tryAcquire("a")).contains("agent a has 2 sessions open");
        assertThat(limits.open()).isEqualTo(2);
    }

    @Test
    void noReserveIsTheOldRule() {
        SessionLimits limits = new SessionLimits(5, 3);
        assertThat(limits.tryAcquire("a")).isNull();
        assertThat(limits.tryAcquire("a")).isNull();
        assertThat(limits.tryAcquire("a")).isNull();
        assertThat(limits.tryAcquire("b")).contains("the cloud has 3 sessions open");
    }
}
