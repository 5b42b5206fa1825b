package io.l4mesh.node.testing;

import java.util.ArrayList;
import java.util.List;

/**
 * Closes what a test opened, last first, after each test:
 * {@code @RegisterExtension final Cleanup cleanup = new Cleanup();} then {@code cleanup.add(resource)}.
 */
@SuppressWarnings("try")
public final class Cleanup implements AutoCloseable, org.junit.jupiter.api.extension.AfterEachCallback {
    private final List<AutoCloseable> resources = new ArrayList<>();

    /** Registers {@code c} to be closed and returns it. */
    public <T extends AutoCloseable> T add(T c) {
        resources.add(c);
        return c;
    }

    @Override
    public void afterEach(org.junit.jupiter.api.extension.ExtensionContext context) throws Exception {
        close();
    }

    @Override
    public void close() throws Exception {
        Exception first = null;
        for (int i = resources.size() - 1; i >= 0; i--) {
            try {
                resources.get(i).close();
            } catch (Exception e) {
                first = first == null ? e : first;
            }
        }
        resources.clear();
        if (first != null) {
            throw first;
        }
    }
}
