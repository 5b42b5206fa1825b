package io.l4mesh.node.config;

/** Transport protocol of a listener. */
public enum Protocol {
    TCP(6), UDP(17);

    private final int number;

    Protocol(int number) {
        this.number = number;
    }

    /** IANA protocol number, as hashed into the flow key. */
    public int number() {
        return number;
    }
}
