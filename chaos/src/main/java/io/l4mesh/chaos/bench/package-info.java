/**
 * Benchmarks that print figures, never tests: {@code l4mesh bench proxy} measures l4mesh against HAProxy and nginx
 * in front of the same backends in one run. Each load generator is bounded in time; every process started is
 * stopped by its own PID.
 */
package io.l4mesh.chaos.bench;
