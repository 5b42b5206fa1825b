/**
 * The chaos suite: fault drivers (partitions, node deaths, backend flaps), scenarios and invariant checks.
 *
 * <p>It drives l4mesh nodes from the outside, through processes and the admin API; nothing on the data path
 * depends on it. Filled once the mesh and packet mode exist.
 */
package io.l4mesh.chaos;
