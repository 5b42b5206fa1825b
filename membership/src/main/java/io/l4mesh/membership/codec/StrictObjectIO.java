package io.l4mesh.membership.codec;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.Externalizable;
import java.io.IOException;
import java.io.InputStream;
import java.io.ObjectInput;
import java.io.ObjectOutput;
import java.io.OutputStream;
import java.lang.reflect.Constructor;
import java.util.List;

/**
 * A strict binary replacement for Java serialization of scalecube's protocol objects. Objects are written as a tag
 * and, for classes, an index into a fixed allow-list; reading instantiates only allow-listed classes (through their
 * no-argument constructor, then {@code readExternal} with this same strict input), so no byte on the wire can name a
 * class. Nesting depth, string and byte-array sizes are bounded.
 *
 * <pre>
 * tag  0 null | 1 string (UTF) | 2 bytes (int length, bytes) | 3 enum (u8 index, UTF name)
 *      4 object (u8 index, its writeExternal) | 5 long | 6 int | 7 boolean
 * </pre>
 *
 * <p>The allow-list order is part of the wire format (version 1): append only.
 */
public final class StrictObjectIO {
    static final int TAG_NULL = 0;
    static final int TAG_STRING = 1;
    static final int TAG_BYTES = 2;
    static final int TAG_ENUM = 3;
    static final int TAG_OBJECT = 4;
    static final int TAG_LONG = 5;
    static final int TAG_INT = 6;
    static final int TAG_BOOLEAN = 7;
    static final int MAX_DEPTH = 16;
    static final int MAX_BYTES = 1 << 20;

    /** Scalecube protocol classes this codec may create. */
    static final List<String> CLASSES = List.of(
        "io.scalecube.cluster.Member",
        "io.scalecube.cluster.transport.api.Message",
        "io.scalecube.cluster.membership.MembershipRecord",
        "io.scalecube.cluster.membership.SyncData",
        "io.scalecube.cluster.fdetector.PingData",
        "io.scalecube.cluster.gossip.Gossip",
        "io.scalecube.cluster.gossip.GossipRequest",
        "io.scalecube.cluster.metadata.GetMetadataRequest",
        "io.scalecube.cluster.metadata.GetMetadataResponse");
    static final List<String> ENUMS = List.of(
        "io.scalecube.cluster.membership.MemberStatus",
        "io.scalecube.cluster.fdetector.PingData$AckType");

    private static final Class<?>[] CLASS_TYPES = load(CLASSES);
    private static final Class<?>[] ENUM_TYPES = load(ENUMS);
    private static final Constructor<?>[] CONSTRUCTORS = constructors();

    private StrictObjectIO() {
    }

    private static Class<?>[] load(List<String> names) {
        Class<?>[] out = new Class<?>[names.size()];
        for (int i = 0; i < out.length; i++) {
            try {
                out[i] = Class.forName(names.get(i), false, StrictObjectIO.class.getClassLoader());
            } catch (ClassNotFoundException e) {
                throw new IllegalStateException("scalecube class missing: " + names.get(i), e);
            }
        }
        return out;
    }

    private static Constructor<?>[] constructors() {
        Constructor<?>[] out = new Constructor<?>[CLASS_TYPES.length];
        for (int i = 0; i < out.length; i++) {
            try {
                out[i] = CLASS_TYPES[i].getDeclaredConstructor();
                out[i].setAccessible(true);   // several protocol classes are package-private
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("no no-arg constructor: " + CLASSES.get(i), e);
            }
        }
        return out;
    }

    /** Writes allow-listed objects; anything else is an error at the sender. */
    public static final class Out extends DataOutputStream implements ObjectOutput {
        public Out(OutputStream out) {
            super(out);
        }

        @Override
        public void writeObject(Object o) throws IOException {
            switch (o) {
                case null -> writeByte(TAG_NULL);
                case String s -> {
                    writeByte(TAG_STRING);
                    writeUTF(s);
                }
                case byte[] b -> {
                    writeByte(TAG_BYTES);
                    writeInt(b.length);
                    write(b);
                }
                case Long l -> {
                    writeByte(TAG_LONG);
                    writeLong(l);
                }
                case Integer i -> {
                    writeByte(TAG_INT);
                    writeInt(i);
                }
                case Boolean b -> {
                    writeByte(TAG_BOOLEAN);
                    writeBoolean(b);
                }
                case Enum<?> e -> {
                    writeByte(TAG_ENUM);
                    writeByte(index(ENUM_TYPES, e.getDeclaringClass()));
                    writeUTF(e.name());
                }
                case Externalizable x -> {
                    writeByte(TAG_OBJECT);
                    writeByte(index(CLASS_TYPES, x.getClass()));
                    x.writeExternal(this);
                }
                default -> throw new IOException("type not allowed on the wire: " + o.getClass().getName());
            }
        }

        private static int index(Class<?>[] types, Class<?> c) throws IOException {
            for (int i = 0; i < types.length; i++) {
                if (types[i] == c) {
                    return i;
                }
            }
            throw new IOException("type not allowed on the wire: " + c.getName());
        }
    }

    /** Reads what {@link Out} wrote; refuses anything else with an {@link IOException}. */
    public static final class In extends DataInputStream implements ObjectInput {
        private int depth;

        public In(InputStream in) {
            super(in);
        }

        @Override
        public Object readObject() throws IOException {
            if (++depth > MAX_DEPTH) {
                throw new IOException("nesting deeper than " + MAX_DEPTH);
            }
            try {
                int tag = readUnsignedByte();
                return switch (tag) {
                    case TAG_NULL -> null;
                    case TAG_STRING -> readUTF();
                    case TAG_BYTES -> {
                        int n = readInt();
                        if (n < 0 || n > MAX_BYTES) {
                            throw new IOException("byte array length " + n + " out of range");
                        }
                        byte[] b = new byte[n];
                        readFully(b);
                        yield b;
                    }
                    case TAG_LONG -> readLong();
                    case TAG_INT -> readInt();
                    case TAG_BOOLEAN -> readBoolean();
                    case TAG_ENUM -> readEnum();
                    case TAG_OBJECT -> readExternalizable();
                    default -> throw new IOException("unknown tag " + tag);
                };
            } finally {
                depth--;
            }
        }

        private Object readEnum() throws IOException {
            int idx = readUnsignedByte();
            if (idx >= ENUM_TYPES.length) {
                throw new IOException("enum index " + idx + " not allowed");
            }
            String name = readUTF();
            for (Object c : ENUM_TYPES[idx].getEnumConstants()) {
                if (((Enum<?>) c).name().equals(name)) {
                    return c;
                }
            }
            throw new IOException("no constant " + name + " in " + ENUMS.get(idx));
        }

        private Object readExternalizable() throws IOException {
            int idx = readUnsignedByte();
            if (idx >= CLASS_TYPES.length) {
                throw new IOException("class index " + idx + " not allowed");
            }
            Externalizable x;
            try {
                x = (Externalizable) CONSTRUCTORS[idx].newInstance();
            } catch (ReflectiveOperationException e) {
                throw new IOException("cannot create " + CLASSES.get(idx), e);
            }
            try {
                x.readExternal(this);
            } catch (ClassNotFoundException | RuntimeException e) {
                throw new IOException("malformed " + CLASSES.get(idx) + ": " + e, e);
            }
            return x;
        }
    }
}
