package io.tandem.cli.loadtest;

import java.util.Arrays;

/** Nearest-rank percentiles: the smallest value with at least p percent of the values at or below it. */
public final class Percentiles {

    private Percentiles() {
    }

    /**
     * The {@code p}th percentile (0..100) of {@code values} by nearest rank: sorted ascending, the
     * value at rank {@code ceil(p/100 * n)} (rank 1 for p = 0). NaN when there are no values.
     */
    public static double nearestRank(double[] values, double p) {
        if (!(p >= 0 && p <= 100)) {
            throw new IllegalArgumentException("percentile must be within 0..100, was " + p);
        }
        if (values.length == 0) {
            return Double.NaN;
        }
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        double target = p * sorted.length;  // the rank r is the smallest with r * 100 >= p * n
        long rank = (long) Math.ceil(target / 100);
        while (rank * 100 < target) {  // the division may have rounded; settle it in the comparison itself
            rank++;
        }
        while (rank > 1 && (rank - 1) * 100 >= target) {
            rank--;
        }
        int index = (int) Math.min(sorted.length, Math.max(1, rank)) - 1;
        return sorted[index];
    }
}
