/**
 * Node configuration: YAML loaded into validated records.
 *
 * <p>{@link io.l4mesh.node.config.ConfigLoader} reads the whole file, checks every field once and either returns
 * a complete {@link io.l4mesh.node.config.NodeConfig} or throws a {@link io.l4mesh.node.config.ConfigException}
 * whose message is one line naming the field and why ({@code config: pools.web.backends[2].address: 'db:abc' is
 * not host:port}). Nothing is started from a config that did not load.
 */
package io.l4mesh.node.config;
