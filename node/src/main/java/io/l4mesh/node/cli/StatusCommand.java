package io.l4mesh.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;

/** {@code l4mesh status}: a running node's listeners, pools and backends. */
@Command(name = "status", mixinStandardHelpOptions = true,
    description = "Show a running node: listeners, pools, backends with health and counts.")
public final class StatusCommand implements Callable<Integer> {
    @Mixin
    AdminOptions admin;

    @picocli.CommandLine.Option(names = "--cluster",
        description = "The whole mesh: one row per node with its fingerprints (as 'l4mesh members').")
    boolean cluster;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        if (cluster) {
            return ApiCall.run(admin, spec.commandLine().getOut(), spec.commandLine().getErr(),
                c -> c.get("/members"), (r, out) -> MembersCommand.print(r.json(), out));
        }
        return ApiCall.run(admin, spec.commandLine().getOut(), spec.commandLine().getErr(), c -> c.get("/status"),
            (r, out) -> print(r.json(), out));
    }

    static void print(JsonNode s, PrintWriter out) {
        out.printf("node %s  l4mesh %s  up %ds  transport %s  %s M=%d  flows %d%s%n", s.path("node").asText(),
            s.path("version").asText(), s.path("uptimeSeconds").asLong(), s.path("transport").asText(),
            s.path("hashAlgorithm").asText(), s.path("maglevTableSize").asInt(), s.path("flows").asLong(),
            s.path("draining").asBoolean() ? "  DRAINING" : "");
        out.println();
        Table t = new Table("LISTENER", "PROTO", "BIND", "POOL", "ALGORITHM", "ACTIVE", "MAX", "ACCEPTED",
            "REJECTED", "BYTES IN", "BYTES OUT");
        for (JsonNode l : s.path("listeners")) {
            long rejected = l.path("rejectedLimit").asLong() + l.path("rejectedNoBackend").asLong()
                + l.path("rejectedConnectFailed").asLong();
            t.row(l.path("name").asText(), l.path("protocol").asText(), l.path("bind").asText(),
                l.path("pool").asText(), l.path("algorithm").asText(), l.path("active").asText(),
                l.path("maxConnections").asText(), l.path("accepted").asText(), String.valueOf(rejected),
                l.path("bytesIn").asText(), l.path("bytesOut").asText());
        }
        t.print(out, "");
        for (JsonNode p : s.path("pools")) {
            out.println();
            out.printf("pool %s  version %d  fingerprint %s  eligible %d/%d%n", p.path("name").asText(),
                p.path("version").asLong(), p.path("fingerprint").asText(), p.path("eligible").asInt(),
                p.path("backends").size());
            Table b = new Table("BACKEND", "WEIGHT", "STATE", "ACTIVE", "FLOWS", "FAILS", "SLOTS", "REASON");
            for (JsonNode x : p.path("backends")) {
                String state = x.path("health").asText() + (x.path("draining").asBoolean() ? ",draining" : "");
                b.row(x.path("address").asText(), x.path("weight").asText(), state, x.path("active").asText(),
                    x.path("flows").asText(), x.path("connectFailures").asText(), x.path("slots").asText(),
                    x.path("healthReason").asText());
            }
            b.print(out, "  ");
        }
    }
}
