package io.tandem.edge.budget;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Optional;

/**
 * Rolling-window spend caps (per hour and per day) on cloud use. A request reserves its estimated
 * cost before it goes to the cloud and is admitted only while the spend plus what requests in
 * flight still hold is under both caps; each step then charges its actual cost, drawing the
 * reservation down. Past its reservation a request may go on only while the caps still have room
 * for it beside everything held; else it must continue locally. So the spend can pass a cap by at
 * most the estimates of the requests in flight, never more.
 * Thread-safe; the clock is injected so windows can be tested without waiting.
 */
public final class BudgetLimiter {

    private record Spend(long atMillis, double amount) {
    }

    private final Clock clock;
    private final double hourlyCap;
    private final double dailyCap;
    private final Deque<Spend> spends = new ArrayDeque<>();
    private double outstanding;
    private double spentTotal;

    /** Caps in currency units; {@code Double.POSITIVE_INFINITY} for no cap. */
    public BudgetLimiter(Clock clock, double hourlyCap, double dailyCap) {
        if (!(hourlyCap >= 0) || !(dailyCap >= 0)) {
            throw new IllegalArgumentException("caps must be >= 0, were " + hourlyCap + " and " + dailyCap);
        }
        this.clock = clock;
        this.hourlyCap = hourlyCap;
        this.dailyCap = dailyCap;
    }

    /** Reserves {@code estimate} if the caps leave room; empty when they do not. */
    public synchronized Optional<Reservation> tryReserve(double estimate) {
        if (!(estimate >= 0)) {
            throw new IllegalArgumentException("estimate must be >= 0, was " + estimate);
        }
        long now = clock.millis();
        prune(now);
        if (spent(now, Duration.ofHours(1)) + outstanding >= hourlyCap
                || spent(now, Duration.ofDays(1)) + outstanding >= dailyCap) {
            return Optional.empty();
        }
        outstanding += estimate;
        return Optional.of(new Reservation(estimate));
    }

    /** What the caps leave now for a new request: the smaller of the two windows, net of reservations. */
    public synchronized double remaining() {
        long now = clock.millis();
        prune(now);
        return Math.min(hourlyCap - spent(now, Duration.ofHours(1)), dailyCap - spent(now, Duration.ofDays(1)))
                - outstanding;
    }

    public synchronized double spentLastHour() {
        long now = clock.millis();
        prune(now);
        return spent(now, Duration.ofHours(1));
    }

    public synchronized double spentLastDay() {
        long now = clock.millis();
        prune(now);
        return spent(now, Duration.ofDays(1));
    }

    /** Everything ever charged, for a monotonic counter. */
    public synchronized double spentTotal() {
        return spentTotal;
    }

    /** What requests in flight still hold. */
    public synchronized double outstanding() {
        return outstanding;
    }

    public double hourlyCap() {
        return hourlyCap;
    }

    public double dailyCap() {
        return dailyCap;
    }

    private double spent(long now, Duration window) {
        long from = now - window.toMillis();
        double sum = 0;
        for (Spend s : spends) {
            if (s.atMillis > from) {
                sum += s.amount;
            }
        }
        return sum;
    }

    private void prune(long now) {
        long dayAgo = now - Duration.ofDays(1).toMillis();
        while (!spends.isEmpty() && spends.peekFirst().atMillis <= dayAgo) {
            spends.pollFirst();
        }
    }

    /** One request's hold on the budget. Charge it as steps complete; release it when the request ends. */
    public final class Reservation implements AutoCloseable {

        private final double estimate;
        private double charged;
        private boolean released;

        private Reservation(double estimate) {
            this.estimate = estimate;
        }

        public double estimate() {
            return estimate;
        }

        /**
         * Records {@code amount} as spent. Within the reservation a charge always succeeds; past it,
         * only while the spend, what every request in flight still holds and this amount stay under
         * both caps. Returns false, charging nothing, otherwise: the caller must stop using the cloud.
         */
        public boolean charge(double amount) {
            if (!(amount >= 0)) {
                throw new IllegalArgumentException("a charge must be >= 0, was " + amount);
            }
            synchronized (BudgetLimiter.this) {
                if (released) {
                    return false;
                }
                double held = Math.max(0, estimate - charged);
                if (amount > held) {
                    long now = clock.millis();
                    prune(now);
                    double beyond = amount - held;
                    if (spent(now, Duration.ofHours(1)) + outstanding + beyond > hourlyCap
                            || spent(now, Duration.ofDays(1)) + outstanding + beyond > dailyCap) {
                        return false;
                    }
                }
                charged += amount;
                outstanding -= held - Math.max(0, estimate - charged);
                spentTotal += amount;
                spends.addLast(new Spend(clock.millis(), amount));
                return true;
            }
        }

        public double charged() {
            synchronized (BudgetLimiter.this) {
                return charged;
            }
        }

        /** Returns what was not spent to the budget; idempotent. */
        @Override
        public void close() {
            synchronized (BudgetLimiter.this) {
                if (!released) {
                    released = true;
                    outstanding -= Math.max(0, estimate - charged);
                }
            }
        }
    }
}
