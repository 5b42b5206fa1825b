package io.l4mesh.node.config;

/** Whether TCP connections to a pool's backends start with a PROXY protocol header (HAProxy's spec). */
public enum ProxyProtocol {
    NONE, V1, V2
}
