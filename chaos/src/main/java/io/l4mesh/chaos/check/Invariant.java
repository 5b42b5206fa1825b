package io.l4mesh.chaos.check;

/**
 * One invariant's outcome: what was measured, the bound it had to stay within, whether it held, and a line of
 * evidence (the first failures, the slowest node).
 *
 * @param name   what must hold, in words ("established connections unbroken")
 * @param value  the measured value, in {@code unit}
 * @param unit   {@code ms}, {@code connections}, {@code MiB}, ...
 * @param bound  the bound, in words ({@code = 0}, {@code <= 1500 ms})
 */
public record Invariant(String name, double value, String unit, String bound, boolean held, String detail) {
    /** The measured value as the report prints it. */
    public String measured() {
        if (Double.isInfinite(value)) {
            return "never";
        }
        return (value == Math.rint(value) ? Long.toString((long) value) : String.format("%.1f", value))
            + (unit.isEmpty() ? "" : " " + unit);
    }
}
