package io.l4mesh.node.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;

/** {@code l4mesh reload}: asks a running node to re-read its config file. */
@Command(name = "reload", mixinStandardHelpOptions = true,
    description = "Re-read the node's config file and apply the difference (like SIGHUP).")
public final class ReloadCommand implements Callable<Integer> {
    @Mixin
    AdminOptions admin;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        return ApiCall.run(admin, spec.commandLine().getOut(), spec.commandLine().getErr(),
            c -> c.send("POST", "/reload", null),
            (r, out) -> out.println("reloaded " + r.json().path("reloaded").asText()));
    }
}
