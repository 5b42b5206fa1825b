package io.l4mesh.chaos.bench;

import java.util.Arrays;
import java.util.List;

/**
 * One figure measured in several rounds: its median and its spread (lowest and highest round). A benchmark reports
 * the median so that one noisy moment on a shared machine does not decide a ratio, and the spread so a reader sees
 * how much the rounds agreed.
 *
 * <pre>{@code
 * Spread s = Spread.of(List.of(10.0, 12.0, 11.0));   // median 11, 10..12
 * }</pre>
 */
public record Spread(double median, double min, double max, List<Double> rounds) {
    public Spread {
        rounds = List.copyOf(rounds);
    }

    /** The figure over {@code rounds} (at least one); NaN rounds (a figure a tool did not give) are left out. */
    public static Spread of(List<Double> rounds) {
        double[] v = rounds.stream().mapToDouble(Double::doubleValue).filter(x -> !Double.isNaN(x)).sorted().toArray();
        if (v.length == 0) {
            return new Spread(Double.NaN, Double.NaN, Double.NaN, rounds);
        }
        int n = v.length;
        double median = n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
        return new Spread(median, v[0], v[n - 1], rounds);
    }

    /** Half the range relative to the median, in percent: how far the rounds strayed. */
    public double spreadPercent() {
        return median == 0 || Double.isNaN(median) ? Double.NaN : (max - min) / 2 / median * 100;
    }

    /** "median (min-max)" with the given number format. */
    public String format(String number) {
        if (Double.isNaN(median)) {
            return "-";
        }
        if (rounds.size() == 1) {
            return String.format(number, median);
        }
        return String.format(number + " (" + number + "-" + number + ")", median, min, max);
    }

    /** Writes median, min, max and every round (rounded to 0.01) into {@code n}. */
    public void writeTo(com.fasterxml.jackson.databind.node.ObjectNode n) {
        n.put("median", round(median));
        n.put("min", round(min));
        n.put("max", round(max));
        var a = n.putArray("rounds");
        rounds.forEach(v -> a.add(round(v)));
    }

    /** A figure rounded to two decimals for a report. */
    public static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }

    /**
     * A ratio as printed: three significant digits, so that a small one (a p99 a hundred times the peer's) stays above
     * zero rather than rounding to it.
     */
    public static double ratio(double v) {
        if (v == 0 || Double.isNaN(v) || Double.isInfinite(v)) {
            return v;
        }
        return new java.math.BigDecimal(v).round(new java.math.MathContext(3)).doubleValue();
    }

    @Override
    public String toString() {
        return format("%.2f") + " " + Arrays.toString(rounds.toArray());
    }
}
