/**
 * The invariant checkers: pure functions from what the suite recorded to an {@link io.l4mesh.chaos.check.Invariant}.
 */
package io.l4mesh.chaos.check;
