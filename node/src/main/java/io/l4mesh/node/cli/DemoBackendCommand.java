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

    @Option(names = "--bind", required = true, description = "host:port")
    String bind;

    @Override
    public Integer call() throws Exception {
        int colon = bind.lastIndexOf(':');
        try (DemoBackend b = new DemoBackend(name, new InetSocketAddress(bind.substring(0, colon),
            Integer.parseInt(bind.substring(colon + 1))))) {
            System.out.println(name + " listening on " + bind);
            new CountDownLatch(1).await();
        }
        return 0;
    }
}
