/**
 * The scenarios ({@link io.l4mesh.chaos.scenario.Catalogue}) and the {@link io.l4mesh.chaos.scenario.Run} each acts
 * through: it prints and records every step, samples the cluster while it runs, and checks the standard invariants.
 */
package io.l4mesh.chaos.scenario;
