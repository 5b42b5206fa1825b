package io.l4mesh.chaos.fault;

/**
 * A proxy put in front of one backend's service, so the suite can make that backend slow, frozen or gone without
 * touching its process (this kernel has no netem or tbf). Two drivers: netcrusher in the suite's JVM, and Toxiproxy.
 *
 * <p>Threading: one scenario thread drives it.
 */
public interface InPathProxy extends AutoCloseable {
    /** Adds {@code ms} of latency to every chunk of data in both directions (0: none). */
    void slow(long ms) throws Exception;

    /** Stops moving data and accepting connections: the backend looks hung (connections open, nothing answers). */
    void freeze() throws Exception;

    void unfreeze() throws Exception;

    /** Closes the listening socket and every connection: the backend's service is gone (as if it crashed). */
    void down() throws Exception;

    /** Opens the listening socket again: the service is back. */
    void up() throws Exception;

    /** The driver's name, for the report ({@code netcrusher}, {@code toxiproxy}). */
    String driver();

    /** Removes the proxy and puts the backend's service back where it was. */
    @Override
    void close() throws Exception;
}
