package io.l4mesh.node.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Random;

/** Client-side helpers for tests: connect, ask a line, stream and digest bytes. */
public final class Clients {
    private Clients() {
    }

    public static Socket connect(InetSocketAddress address) throws IOException {
        Socket s = new Socket();
        s.connect(address, 2000);
        s.setSoTimeout(5000);
        return s;
    }

    /** Sends one line on a new connection and returns the first word of the reply line (the backend's name). */
    public static String ask(InetSocketAddress address, String line) throws IOException {
        try (Socket s = connect(address)) {
            return askOn(s, line);
        }
    }

    /** Sends one line on an open connection and returns the first word of the reply line. */
    public static String askOn(Socket s, String line) throws IOException {
        s.getOutputStream().write((line + "\n").getBytes(StandardCharsets.UTF_8));
        s.getOutputStream().flush();
        String reply = readLine(s.getInputStream());
        return reply == null ? null : reply.split(" ", 2)[0];
    }

    /** Reads one line without buffering past it (so the stream can be used again). */
    public static String readLine(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0) {
            if (c == '\n') {
                return sb.toString();
            }
            sb.append((char) c);
        }
        return sb.isEmpty() ? null : sb.toString();
    }

    public static BufferedReader reader(Socket s) throws IOException {
        return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
    }

    /** Writes {@code total} seeded pseudo-random bytes and returns their SHA-256. */
    public static byte[] writeRandom(OutputStream out, long total, long seed) throws IOException {
        MessageDigest md = sha256();
        Random r = new Random(seed);
        byte[] buf = new byte[64 * 1024];
        long left = total;
        while (left > 0) {
            r.nextBytes(buf);
            int n = (int) Math.min(buf.length, left);
            out.write(buf, 0, n);
            md.update(buf, 0, n);
            left -= n;
        }
        out.flush();
        return md.digest();
    }

    /** Reads to EOF and returns {SHA-256, byte count}. */
    public static Object[] readAll(InputStream in) throws IOException {
        MessageDigest md = sha256();
        byte[] buf = new byte[64 * 1024];
        long count = 0;
        int n;
        while ((n = in.read(buf)) >= 0) {
            md.update(buf, 0, n);
            count += n;
        }
        return new Object[] {md.digest(), count};
    }

    /**
     * Reads to EOF on a thread of its own (never the common pool: with 2 cores it has one thread, which would
     * serialise both ends of a transfer).
     */
    public static java.util.concurrent.CompletableFuture<Object[]> readAllAsync(InputStream in) {
        java.util.concurrent.CompletableFuture<Object[]> f = new java.util.concurrent.CompletableFuture<>();
        Thread.ofPlatform().daemon().name("test-reader").start(() -> {
            try {
                f.complete(readAll(in));
            } catch (Throwable e) {
                f.completeExceptionally(e);
            }
        });
        return f;
    }

    public static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
