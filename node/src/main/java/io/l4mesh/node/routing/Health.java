package io.l4mesh.node.routing;

/** A backend's health as this node sees it. */
public enum Health {
    /** Taking flows. Backends start here, so a node that just started does not black-hole traffic. */
    UP,
    /** Failed {@code fall} consecutive probes or connects; no new flows until {@code rise} probes succeed. */
    DOWN
}
