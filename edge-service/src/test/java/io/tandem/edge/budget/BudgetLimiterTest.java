package io.tandem.edge.budget;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.tandem.edge.SimulatedClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class BudgetLimiterTest {

    @Test
    void aTinyCapAdmitsTheFirstRequestsThenNone() {
        SimulatedClock clock = new SimulatedClock();
        BudgetLimiter budget = new BudgetLimiter(clock, 1.0, 100);
        List<Boolean> admitted = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            Optional<BudgetLimiter.Reservation> r = budget.tryReserve(0.4);
            admitted.add(r.isPresent());
            r.ifPresent(res -> {
                assertThat(res.charge(0.3)).isTrue();
                res.close();
            });
        }
        // spend 0, 0.3, 0.6, 0.9 are under the cap; 1.2 is not
        assertThat(admitted).containsExactly(true, true, true, true, false, false);
        assertThat(budget.spentLastHour()).isCloseTo(1.2, within(1e-12));
        assertThat(budget.spentLastHour()).isLessThanOrEqualTo(1.0 + 0.4);
        assertThat(budget.remaining()).isCloseTo(-0.2, within(1e-12));
    }

    @Test
    void theHourlyWindowRollsAndTheDailyOneHolds() {
        SimulatedClock clock = new SimulatedClock();
        BudgetLimiter budget = new BudgetLimiter(clock, 1.0, 1.5);
        try (BudgetLimiter.Reservation r = budget.tryReserve(1.0).orElseThrow()) {
            assertThat(r.charge(1.0)).isTrue();
        }
        assertThat(budget.tryReserve(0.1)).as("the hour is spent").isEmpty();
        clock.advance(Duration.ofMinutes(61));
        assertThat(budget.spentLastHour()).isZero();
        assertThat(budget.spentLastDay()).isEqualTo(1.0);
        assertThat(budget.remaining()).isCloseTo(0.5, within(1e-12));
        try (BudgetLimiter.Reservation r = budget.tryReserve(0.5).orElseThrow()) {
            assertThat(r.charge(0.5)).isTrue();
        }
        assertThat(budget.tryReserve(0.1)).as("the day is spent").isEmpty();
        clock.advance(Duration.ofHours(24));
        assertThat(budget.tryReserve(0.1)).as("a day later").isPresent();
    }

    @Test
    void aReservationIsOverdrawnOnlyWhileTheCapsHaveRoom() {
        BudgetLimiter roomy = new BudgetLimiter(new SimulatedClock(), 10, 10);
        BudgetLimiter.Reservation slow = roomy.tryReserve(1.0).orElseThrow();
        assertThat(slow.charge(0.7)).isTrue();
        assertThat(slow.charge(0.4)).as("past its estimate, with room under the caps").isTrue();
        assertThat(roomy.outstanding()).isZero();
        slow.close();
        assertThat(roomy.outstanding()).isZero();
        assertThat(roomy.spentTotal()).isCloseTo(1.1, within(1e-12));
    }

    @Test
    void aReservationCannotBeOverdrawnPastTheCapAndReturnsWhatItDidNotSpend() {
        BudgetLimiter budget = new BudgetLimiter(new SimulatedClock(), 1.0, 10);
        BudgetLimiter.Reservation r = budget.tryReserve(1.0).orElseThrow();
        assertThat(budget.outstanding()).isEqualTo(1.0);
        assertThat(r.charge(0.7)).isTrue();
        assertThat(r.charge(0.4)).as("past the reservation and the cap: the request must stop using the cloud").isFalse();
        assertThat(r.charged()).isEqualTo(0.7);
        assertThat(budget.outstanding()).isCloseTo(0.3, within(1e-12));
        r.close();
        r.close();
        assertThat(budget.outstanding()).isCloseTo(0, within(1e-12));
        assertThat(r.charge(0.1)).as("after release").isFalse();
        assertThat(budget.spentTotal()).isEqualTo(0.7);
    }

    @Test
    void underConcurrentLoadSpendNeverPassesTheCapByMoreThanTheEstimatesInFlight() throws Exception {
        BudgetLimiter budget = new BudgetLimiter(new SimulatedClock(), 5.0, 1e9);
        double estimate = 0.25;
        int threads = 8;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        AtomicInteger inFlight = new AtomicInteger();
        AtomicInteger maxInFlight = new AtomicInteger();
        AtomicInteger admitted = new AtomicInteger();
        CountDownLatch start = new CountDownLatch(1);
        for (int t = 0; t < threads; t++) {
            pool.submit(() -> {
                start.await();
                for (int i = 0; i < 500; i++) {
                    Optional<BudgetLimiter.Reservation> r = budget.tryReserve(estimate);
                    if (r.isEmpty()) {
                        continue;
                    }
                    admitted.incrementAndGet();
                    maxInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
                    try (BudgetLimiter.Reservation res = r.get()) {
                        // steps charge until the reservation stops them
                        while (res.charge(0.03)) {
                            Thread.onSpinWait();
                        }
                    } finally {
                        inFlight.decrementAndGet();
                    }
                }
                return null;
            });
        }
        start.countDown();
        pool.shutdown();
        assertThat(pool.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
        assertThat(admitted.get()).isGreaterThan(0);
        assertThat(budget.spentTotal()).isGreaterThanOrEqualTo(5.0 - estimate);
        assertThat(budget.spentTotal()).isLessThanOrEqualTo(5.0 + maxInFlight.get() * estimate + 1e-9);
        assertThat(budget.outstanding()).isCloseTo(0, within(1e-9));
    }
}
