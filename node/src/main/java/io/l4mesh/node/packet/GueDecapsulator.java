package io.l4mesh.node.packet;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.concurrent.atomic.LongAdder;

/**
 * The backend side of GUE for hosts without the kernel's fou module ({@code l4mesh decap}): receives the UDP
 * datagrams whose payload is an IP packet and writes each packet into a TUN device, where the kernel takes it as if
 * it had arrived from the client. The VIP must be on {@code lo} and reverse-path filtering off for the TUN.
 *
 * <p>Threading: {@link #run} on one thread; one direct buffer, no object per packet.
 */
public final class GueDecapsulator implements Runnable, AutoCloseable {
    private final DatagramChannel channel;
    private final Tun tun;
    private final ByteBuffer buf = ByteBuffer.allocateDirect(Tun.MAX_PACKET);
    private final MemorySegment seg = MemorySegment.ofBuffer(buf);
    private final PacketParser parser = new PacketParser();
    private final LongAdder decapsulated = new LongAdder();
    private final LongAdder refused = new LongAdder();
    private volatile boolean running = true;

    /** Binds the GUE port in the calling thread's network namespace. */
    public GueDecapsulator(InetSocketAddress listen, Tun tun) throws IOException {
        this.tun = tun;
        this.channel = DatagramChannel.open();
        channel.setOption(StandardSocketOptions.SO_RCVBUF, 4 << 20);
        channel.bind(listen);
    }

    public InetSocketAddress localAddress() throws IOException {
        return (InetSocketAddress) channel.getLocalAddress();
    }

    @Override
    public void run() {
        while (running) {
            buf.clear();
            SocketAddress from;
            try {
                from = channel.receive(buf);
            } catch (IOException e) {
                return;   // closed
            }
            if (from == null) {
                continue;
            }
            int n = buf.position();
            PacketParser.Verdict v = parser.parse(seg, n);
            if (v == PacketParser.Verdict.TRUNCATED || v == PacketParser.Verdict.MALFORMED) {
                refused.increment();   // not an IP packet: never write garbage into the kernel
                continue;
            }
            try {
                tun.write(seg, n);
                decapsulated.increment();
            } catch (IOException e) {
                refused.increment();
            }
        }
    }

    public long decapsulated() {
        return decapsulated.sum();
    }

    public long refused() {
        return refused.sum();
    }

    @Override
    public void close() throws IOException {
        running = false;
        channel.close();
    }
}
