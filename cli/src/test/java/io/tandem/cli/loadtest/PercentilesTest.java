package io.tandem.cli.loadtest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PercentilesTest {

    /** Naive nearest rank, straight from the definition: the smallest value with at least p% of values at or below it. */
    static double reference(double[] values, double p) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        for (double candidate : sorted) {
            long atOrBelow = Arrays.stream(values).filter(v -> v <= candidate).count();
            if (atOrBelow * 100 >= p * values.length) {
                return candidate;
            }
        }
        throw new AssertionError("unreachable");
    }

    @Test
    void matchesTheReferenceOnRandomData() {
        Random random = new Random(42);
        double[] ps = {0, 1, 5, 10, 25, 33.3, 50, 66.7, 75, 90, 95, 99, 99.9, 100};
        for (int trial = 0; trial < 500; trial++) {
            int n = 1 + random.nextInt(trial < 100 ? 10 : 300);
            double[] values = new double[n];
            for (int i = 0; i < n; i++) {
                values[i] = trial % 2 == 0 ? random.nextInt(20) : random.nextDouble() * 1000;  // with and without ties
            }
            for (double p : ps) {
                assertThat(Percentiles.nearestRank(values, p)).as("n=%d p=%s", n, p).isEqualTo(reference(values, p));
            }
        }
    }

    @Test
    void knownValues() {
        double[] twenty = new double[20];
        for (int i = 0; i < 20; i++) {
            twenty[i] = 20 - i;  // 20..1, unsorted
        }
        assertThat(Percentiles.nearestRank(twenty, 50)).isEqualTo(10);
        assertThat(Percentiles.nearestRank(twenty, 95)).isEqualTo(19);
        assertThat(Percentiles.nearestRank(twenty, 100)).isEqualTo(20);
        assertThat(Percentiles.nearestRank(twenty, 0)).isEqualTo(1);
        assertThat(Percentiles.nearestRank(new double[] {15, 20, 35, 40, 50}, 30)).isEqualTo(20);
        assertThat(Percentiles.nearestRank(new double[] {15, 20, 35, 40, 50}, 40)).isEqualTo(20);
        assertThat(Percentiles.nearestRank(new double[] {7}, 95)).isEqualTo(7);
        assertThat(Percentiles.nearestRank(new double[0], 50)).isNaN();
        assertThat(twenty[0]).as("input untouched").isEqualTo(20);
        assertThatThrownBy(() -> Percentiles.nearestRank(twenty, 101)).isInstanceOf(IllegalArgumentException.class);
    }
}
