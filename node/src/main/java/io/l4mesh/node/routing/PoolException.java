package io.l4mesh.node.routing;

/** A runtime pool change that cannot be applied; the message is one line for the admin API's 4xx body. */
public final class PoolException extends Exception {
    /** Why: the API maps NOT_FOUND to 404 and the others to 400/409. */
    public enum Kind { NOT_FOUND, CONFLICT, INVALID }

    private final Kind kind;

    public PoolException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
