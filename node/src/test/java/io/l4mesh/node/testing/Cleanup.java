package io.l4mesh.node.testing;

import java.util.ArrayList;
import java.util.List;

/** Closes what a test opened, last first; use one per test instance and close it in {@code @AfterEach}. */
@SuppressWarnings("try")
public final class Cleanup implements AutoCloseable {
    private final List<AutoCloseable> resources = new ArrayList<>();

    /** Registers {@code c} to be closed and returns it. */
    public <T extends AutoCloseable> T add(T c) {
        resources.add(c);
        return c;
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
