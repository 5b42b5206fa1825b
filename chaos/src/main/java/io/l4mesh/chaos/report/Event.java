package io.l4mesh.chaos.report;

/**
 * One step of a scenario, as the live output prints it and the timeline marks it.
 *
 * @param atMs milliseconds since the scenario started
 * @param kind {@code fault}, {@code withdrawn}, {@code detected}, {@code healed}, {@code back}, {@code step}
 */
public record Event(long atMs, String kind, String what) {
}
