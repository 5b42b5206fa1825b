package io.l4mesh.chaos.cluster;

import io.l4mesh.chaos.fault.InPathProxy;
import io.l4mesh.node.admin.AdminClient;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * The system a chaos run works on (Aeron's {@code TestCluster} idea): balancer nodes, backends and the network
 * between them, driven only from the outside, through processes, signals, the network and each node's admin API.
 * Nodes are numbered from 1, backends from 1.
 *
 * <p>Every fault a scenario injects is undone by {@link #restore}, which brings the cluster back to its baseline:
 * every baseline node running and serving, spares stopped, every backend running, the pool as it started, the
 * network whole and every fault seam off.
 *
 * <p>Threading: one scenario thread drives a cluster; {@link #serving} and {@link #admin} may be called from the
 * suite's samplers at the same time.
 */
public interface Cluster extends AutoCloseable {
    Target target();

    /** Nodes in the mesh at baseline. */
    List<Integer> baselineNodes();

    /** A node that exists but is not started at baseline (for scale-out), or 0 when there is none. */
    int spareNode();

    /** Whether node {@code n}'s process is running (a stopped process counts as running). */
    boolean running(int n);

    /** Node {@code n}'s PID, or -1. */
    long pid(int n);

    /** Sends a signal ({@code KILL}, {@code STOP}, {@code CONT}, {@code TERM}) to node {@code n}'s process. */
    void signal(int n, String signal) throws Exception;

    /** Starts node {@code n} (a spare, or one that was stopped or killed) with its config. */
    void start(int n) throws Exception;

    /** One admin API call to node {@code n}; {@code body} is JSON text or null. */
    AdminClient.Response admin(int n, String method, String path, String body) throws Exception;

    /**
     * Nodes that the clients' traffic can reach now: in the lab the router's next hops for the VIP, on loopback the
     * nodes whose {@code /healthz} answers 200. Cheap (a cached view kept current by a watcher).
     */
    Set<Integer> serving();

    /**
     * Calls {@code listener} (on a watcher thread) with the new serving set each time it changes, replacing the
     * previous listener; null removes it.
     */
    void onServingChange(java.util.function.Consumer<Set<Integer>> listener);

    /** Node {@code n}'s gossip address, as peers know it. */
    String gossipAddress(int n);

    ClientSide clients();

    /** Every backend the cluster has (running or not, in the pool or not). */
    List<Integer> backends();

    /** Backends in the pool at baseline; the others are spares for pool changes. */
    List<Integer> baselinePool();

    /** The pool all nodes serve. */
    String pool();

    /** Backend {@code j}'s id in the pool ({@code host:port}). */
    String backendId(int j);

    /** The name backend {@code j} answers with. */
    default String backendName(int j) {
        return "backend-" + j;
    }

    boolean backendRunning(int j);

    /** Kills backend {@code j}'s service process (kill -9). */
    void killBackend(int j) throws Exception;

    /** Starts backend {@code j}'s service again. */
    void startBackend(int j) throws Exception;

    /** Puts an in-path proxy in front of backend {@code j}'s service (its address does not change). */
    InPathProxy interpose(int j) throws Exception;

    /** Cuts nodes {@code a} from nodes {@code b} (both ways), leaving everything else connected. */
    void partition(Set<Integer> a, Set<Integer> b) throws Exception;

    /** Heals every partition and cut this cluster made. */
    void heal() throws Exception;

    /** Milliseconds from a backend's death until every node may have marked it down: fall x interval + interval. */
    long detectionWindowMs();

    /** Node {@code n}'s resident memory now, in bytes (0 when it is not running). */
    long rssBytes(int n);

    /** The memory a node may use (resident), in bytes: the bound the suite checks. */
    long memoryBoundBytes();

    /** Whether the nodes replicate their flow tables (packet mode with flow sync). */
    boolean flowSync();

    /** Copies every process's log into {@code into}; returns where they went. */
    Path keepLogs(Path into) throws Exception;

    /** Brings the cluster back to its baseline (see the class comment); throws when it cannot. */
    void restore() throws Exception;

    @Override
    void close() throws Exception;
}
