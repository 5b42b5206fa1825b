package io.l4mesh.node.mesh;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;

/**
 * What each node says about its load, gossiped every second for the live mesh page (display only: nothing routes
 * by it). Totals, not rates: a reader computes rates between two of a node's messages from their {@code atMs}.
 *
 * <pre>
 * u8 version=1 | UTF nodeId | i64 atMs | u8 state | u16 vips | u16 announced | i64 connections | i64 packets | i64 flows
 * </pre>
 *
 * @param state       {@code serving}, {@code draining} or {@code not-ready} (its self-check fails)
 * @param vips        packet-mode listeners (VIPs this node can announce)
 * @param announced   of those, how many it announces now
 * @param connections flows admitted since start: TCP connections and UDP sessions (proxy), flows created (packet)
 * @param packets     packets forwarded by its packet-mode listeners since start
 * @param flows       flows carried now (both planes)
 */
public record NodeLoad(String nodeId, long atMs, String state, int vips, int announced, long connections, long packets,
                       long flows) {
    static final int VERSION = 1;
    private static final String[] STATES = {"serving", "draining", "not-ready"};

    public NodeLoad {
        if (java.util.Arrays.asList(STATES).indexOf(state) < 0) {
            throw new IllegalArgumentException("unknown node state " + state);
        }
    }

    byte[] encode() {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream(64);
            DataOutputStream out = new DataOutputStream(bytes);
            out.writeByte(VERSION);
            out.writeUTF(nodeId);
            out.writeLong(atMs);
            out.writeByte(java.util.Arrays.asList(STATES).indexOf(state));
            out.writeShort(vips);
            out.writeShort(announced);
            out.writeLong(connections);
            out.writeLong(packets);
            out.writeLong(flows);
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Decodes a message, refusing anything but exactly one well-formed version-1 record. */
    static NodeLoad decode(byte[] data) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(data));
        if (in.readUnsignedByte() != VERSION) {
            throw new IOException("unknown load message version");
        }
        String nodeId = in.readUTF();
        long at = in.readLong();
        int state = in.readUnsignedByte();
        if (state >= STATES.length) {
            throw new IOException("unknown node state " + state);
        }
        int vips = in.readUnsignedShort();
        int announced = in.readUnsignedShort();
        long connections = in.readLong();
        long packets = in.readLong();
        long flows = in.readLong();
        if (in.available() != 0 || announced > vips || connections < 0 || packets < 0 || flows < 0) {
            throw new IOException("malformed load message");
        }
        return new NodeLoad(nodeId, at, STATES[state], vips, announced, connections, packets, flows);
    }
}
