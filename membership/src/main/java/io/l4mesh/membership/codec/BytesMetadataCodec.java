package io.l4mesh.membership.codec;

import io.scalecube.cluster.metadata.MetadataCodec;
import java.nio.ByteBuffer;

/**
 * Member metadata is an opaque byte array (the node's own binary state record) and nothing else: the only type on
 * this codec's allow-list. Oversized or foreign values are refused.
 */
public final class BytesMetadataCodec implements MetadataCodec {
    public static final int MAX_BYTES = 64 * 1024;

    @Override
    public Object deserialize(ByteBuffer buffer) {
        if (buffer == null) {
            return null;
        }
        if (buffer.remaining() > MAX_BYTES) {
            throw new IllegalArgumentException("metadata of " + buffer.remaining() + " bytes exceeds " + MAX_BYTES);
        }
        byte[] b = new byte[buffer.remaining()];
        buffer.duplicate().get(b);
        return b;
    }

    @Override
    public ByteBuffer serialize(Object metadata) {
        if (metadata == null) {
            return ByteBuffer.allocate(0);
        }
        if (!(metadata instanceof byte[] b)) {
            throw new IllegalArgumentException("metadata must be byte[], got " + metadata.getClass().getName());
        }
        if (b.length > MAX_BYTES) {
            throw new IllegalArgumentException("metadata of " + b.length + " bytes exceeds " + MAX_BYTES);
        }
        return ByteBuffer.wrap(b.clone());
    }
}
