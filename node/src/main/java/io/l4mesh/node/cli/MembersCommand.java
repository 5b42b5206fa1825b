package io.l4mesh.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;

/** {@code l4mesh members}: the mesh as one node sees it, one row per node, flagging differing fingerprints. */
@Command(name = "members", mixinStandardHelpOptions = true,
    description = "The mesh as a node sees it: one row per member, its ledger digest and Maglev fingerprints; "
        + "rows whose fingerprints differ from the majority are flagged.")
public final class MembersCommand implements Callable<Integer> {
    @Mixin
    AdminOptions admin;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        return ApiCall.run(admin, spec.commandLine().getOut(), spec.commandLine().getErr(), c -> c.get("/members"),
            (r, out) -> print(r.json(), out));
    }

    static void print(JsonNode j, PrintWriter out) {
        if (!j.path("mesh").asBoolean()) {
            out.println("this node runs alone (no membership section in its config)");
            return;
        }
        Map<String, Map<String, Integer>> votes = new TreeMap<>();
        for (JsonNode m : j.path("members")) {
            for (Iterator<Map.Entry<String, JsonNode>> it = m.path("fingerprints").fields(); it.hasNext(); ) {
                var e = it.next();
                votes.computeIfAbsent(e.getKey(), k -> new TreeMap<>()).merge(e.getValue().asText(), 1, Integer::sum);
            }
        }
        Map<String, String> majority = new TreeMap<>();
        votes.forEach((pool, v) -> majority.put(pool, v.entrySet().stream().max(Map.Entry.comparingByValue())
            .orElseThrow().getKey()));
        Table t = new Table("NODE", "GOSSIP", "ADMIN", "LEDGER", "ENTRIES", "FINGERPRINTS", "DOWN HERE", "");
        int differing = 0;
        for (JsonNode m : j.path("members")) {
            StringBuilder fps = new StringBuilder();
            boolean differs = false;
            for (Iterator<Map.Entry<String, JsonNode>> it = m.path("fingerprints").fields(); it.hasNext(); ) {
                var e = it.next();
                fps.append(fps.isEmpty() ? "" : " ").append(e.getKey()).append('=').append(e.getValue().asText());
                differs |= !e.getValue().asText().equals(majority.get(e.getKey()));
            }
            differing += differs ? 1 : 0;
            t.row(m.path("nodeId").asText() + (m.path("self").asBoolean() ? " *" : ""), m.path("gossip").asText(),
                m.path("admin").asText("-"), m.path("ledgerDigest").asText("-"), m.path("ledgerSize").asText(),
                fps.isEmpty() ? "(not published yet)" : fps.toString(), String.valueOf(m.path("down").size()),
                differs ? "FINGERPRINT DIFFERS" : "");
        }
        t.print(out, "");
        out.printf("%n%d members; %s%n", j.path("members").size(), differing == 0
            ? "all fingerprints agree" : differing + " member(s) route differently (converging, or partitioned)");
        JsonNode div = j.path("divergence");
        if (div.size() > 0) {
            out.printf("DIVERGENCE: this node could not apply %d pool change(s) the mesh agreed on:%n", div.size());
            for (Iterator<Map.Entry<String, JsonNode>> it = div.fields(); it.hasNext(); ) {
                var e = it.next();
                out.printf("  %s: %s%n", e.getKey(), e.getValue().asText());
            }
        }
    }
}
