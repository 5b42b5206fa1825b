/**
 * In-path proxies in front of a backend's service, for slow, frozen and flapping backends: netcrusher in the
 * suite's JVM ({@link io.l4mesh.chaos.fault.CrusherProxy}) and Toxiproxy
 * ({@link io.l4mesh.chaos.fault.ToxiproxyDriver}).
 */
package io.l4mesh.chaos.fault;
