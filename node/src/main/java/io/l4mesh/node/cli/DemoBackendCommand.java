package io.l4mesh.node.cli;

import java.net.InetSocketAddress;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code l4mesh demo-backend}: one demo backend as its own process, so the demo can show a backend dying. */
@Command(name = "demo-backend", hidden = true, mixinStandardHelpOptions = true,
    description = "A demo backend: answers each TCP line and UDP datagram with its name. Runs until killed.")
public final class DemoBackendCommand implements Callable<Integer> {
    @Option(names = "--name", required = true)
    String name;

    @Option(names = "--bind", required = true, description = "host:port, TCP and UDP (repeatable).")
    java.util.List<String> binds;

    @Override
    public Integer call() throws Exception {
        java.util.List<DemoBackend> open = new java.util.ArrayList<>();
        try {
            for (String bind : binds) {
                io.l4mesh.node.config.HostPort hp = io.l4mesh.node.config.HostPort.parse(bind, true);
                if (hp == null) {
                    System.err.println("l4mesh demo-backend: '" + bind + "' is not host:port");
                    return L4meshCli.EXIT_USAGE;
                }
                open.add(new DemoBackend(name, new InetSocketAddress(hp.host(), hp.port())));
                System.out.println(name + " listening on " + bind);
            }
            new CountDownLatch(1).await();
        } finally {
            for (DemoBackend b : open) {
                b.close();
            }
        }
        return 0;
    }
}
