package io.l4mesh.node.cli;

import io.l4mesh.node.admin.AdminClient;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code l4mesh backend add|remove|drain|undrain|weight}: runtime pool changes, no restart. */
@Command(name = "backend", mixinStandardHelpOptions = true,
    description = "Change a running node's pools: add, remove, drain, undrain, weight. Takes effect at once; "
        + "flows whose backend did not change are not disturbed.",
    subcommands = {BackendCommand.Add.class, BackendCommand.Remove.class, BackendCommand.Drain.class,
        BackendCommand.Undrain.class, BackendCommand.Weight.class})
public final class BackendCommand implements Runnable {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    abstract static class Base implements Callable<Integer> {
        @Mixin
        AdminOptions admin;

        @Parameters(index = "0", paramLabel = "POOL")
        String pool;

        @Parameters(index = "1", paramLabel = "ADDRESS", description = "Backend host:port.")
        String address;

        @Spec
        picocli.CommandLine.Model.CommandSpec spec;

        String path() {
            return "/pools/" + AdminClient.segment(pool) + "/backends/" + AdminClient.segment(address);
        }

        int call(ApiCall.Call call, String done) {
            return ApiCall.run(admin, spec.commandLine().getOut(), spec.commandLine().getErr(), call,
                (r, out) -> out.println(done));
        }
    }

    @Command(name = "add", mixinStandardHelpOptions = true, description = "Add a backend to a pool (several: one "
        + "change, all or none, one table rebuild on every node).")
    static final class Add extends Base {
        @Parameters(index = "2..*", arity = "0..*", paramLabel = "MORE", description = "More backends, added with it.")
        java.util.List<String> more = new java.util.ArrayList<>();

        @Option(names = "--weight", defaultValue = "1", description = "Relative share of new flows (default 1).")
        int weight;

        @Option(names = "--drain", description = "Add it draining (no new flows).")
        boolean drain;

        @Override
        public Integer call() {
            java.util.List<Map<String, Object>> list = new java.util.ArrayList<>();
            for (String a : java.util.stream.Stream.concat(java.util.stream.Stream.of(address), more.stream())
                .toList()) {
                Map<String, Object> body = new LinkedHashMap<>();
                body.put("address", a);
                body.put("weight", weight);
                body.put("draining", drain);
                list.add(body);
            }
            Object body = list.size() == 1 ? list.get(0) : list;
            String added = list.size() == 1 ? address : list.size() + " backends";
            return call(c -> c.send("POST", "/pools/" + AdminClient.segment(pool) + "/backends", body),
                "added " + added + " to " + pool + " (weight " + weight + ")");
        }
    }

    @Command(name = "remove", mixinStandardHelpOptions = true,
        description = "Remove a backend. Open TCP connections to it finish on their own.")
    static final class Remove extends Base {
        @Override
        public Integer call() {
            return call(c -> c.send("DELETE", path(), null), "removed " + address + " from " + pool);
        }
    }

    @Command(name = "drain", mixinStandardHelpOptions = true,
        description = "Stop sending new flows to a backend; flows already there continue until they end.")
    static final class Drain extends Base {
        @Override
        public Integer call() {
            return call(c -> c.send("POST", path() + "/drain", null), "draining " + address + " in " + pool);
        }
    }

    @Command(name = "undrain", mixinStandardHelpOptions = true, description = "Let a drained backend take new flows.")
    static final class Undrain extends Base {
        @Override
        public Integer call() {
            return call(c -> c.send("POST", path() + "/undrain", null), "undrained " + address + " in " + pool);
        }
    }

    @Command(name = "weight", mixinStandardHelpOptions = true, description = "Set a backend's weight (0: no new flows).")
    static final class Weight extends Base {
        @Parameters(index = "2", paramLabel = "WEIGHT")
        int weight;

        @Override
        public Integer call() {
            return call(c -> c.send("PUT", path() + "/weight", Map.of("weight", weight)),
                "weight of " + address + " in " + pool + " is now " + weight);
        }
    }
}
