/**
 * Metric names and the Prometheus registry. {@link io.l4mesh.node.metrics.MetricName} is the one place metric
 * names live; dashboards and tests use only those names.
 */
package io.l4mesh.node.metrics;
