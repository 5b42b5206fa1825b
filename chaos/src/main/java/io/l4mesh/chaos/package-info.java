/**
 * The chaos suite ({@code l4mesh chaos list|run}): {@link io.l4mesh.chaos.ChaosCli} parses the command,
 * {@link io.l4mesh.chaos.ChaosRunner} picks and prepares each scenario's cluster and writes the report. It drives
 * l4mesh nodes only from the outside (processes, signals, the network, their admin APIs) and may use {@code node};
 * nothing in the product depends on it.
 */
package io.l4mesh.chaos;
