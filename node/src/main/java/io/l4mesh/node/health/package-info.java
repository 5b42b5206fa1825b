/**
 * Active TCP-connect health probes. Probes run on their own event loop; every result is handed to the control
 * thread, which owns the rise/fall hysteresis and the backend's health state.
 */
package io.l4mesh.node.health;
