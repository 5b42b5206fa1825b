package io.l4mesh.node.cli;

import io.l4mesh.node.admin.AdminClient;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code l4mesh lookup LISTENER SRC [DST]}: which backend a flow would go to. */
@Command(name = "lookup", mixinStandardHelpOptions = true,
    description = "Which backend would a new flow from SRC (ip:port) to the listener (or DST) go to?")
public final class LookupCommand implements Callable<Integer> {
    @Mixin
    AdminOptions admin;

    @Parameters(index = "0", paramLabel = "LISTENER")
    String listener;

    @Parameters(index = "1", paramLabel = "SRC", description = "Client ip:port.")
    String src;

    @Parameters(index = "2", paramLabel = "DST", arity = "0..1", description = "ip:port (default: the listener's).")
    String dst;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        String q = "/lookup?listener=" + AdminClient.segment(listener) + "&src=" + AdminClient.segment(src)
            + (dst == null ? "" : "&dst=" + AdminClient.segment(dst));
        return ApiCall.run(admin, spec.commandLine().getOut(), spec.commandLine().getErr(), c -> c.get(q),
            (r, out) -> {
                var j = r.json();
                out.printf("%s %s -> %s  =>  %s  (pool %s, %s, slot %d, hash %s)%n", j.path("protocol").asText(),
                    j.path("source").asText(), j.path("destination").asText(),
                    j.path("backend").isNull() ? "no backend" : j.path("backend").asText(), j.path("pool").asText(),
                    j.path("algorithm").asText(), j.path("slot").asInt(), j.path("flowHash").asText());
            });
    }
}
