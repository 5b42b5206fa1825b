/**
 * OpenTelemetry for the control plane: spans for joins, leaves, health transitions, pool changes and the rebuilds
 * they cause, and flow snapshots, exported over OTLP when configured (off by default). A leaf: it knows the
 * OpenTelemetry API and the node's config, nothing else of the node.
 */
package io.l4mesh.node.telemetry;
