package io.l4mesh.node.cli;

import io.l4mesh.node.admin.AdminClient;
import io.l4mesh.node.config.NodeConfig;
import picocli.CommandLine.Option;

/** Options shared by commands that talk to a running node's admin API. */
final class AdminOptions {
    @Option(names = "--admin", paramLabel = "HOST:PORT",
        description = "Admin API of the node (default: $L4MESH_ADMIN, else ${DEFAULT-VALUE}).",
        defaultValue = "${env:L4MESH_ADMIN:-127.0.0.1:9090}")
    String admin = NodeConfig.DEFAULT_ADMIN.toString();

    @Option(names = "--json", description = "Print one JSON document on stdout, for scripts.")
    boolean json;

    AdminClient client() {
        return new AdminClient(admin);
    }
}
