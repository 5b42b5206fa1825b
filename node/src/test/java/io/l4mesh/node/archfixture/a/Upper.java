package io.l4mesh.node.archfixture.a;

import io.l4mesh.node.archfixture.b.Lower;

/** A deliberate package cycle (a -> b -> a) and a deserializer: the architecture test's rules must reject both. */
public final class Upper {
    public Lower lower() {
        return new Lower();
    }

    public Object read(java.io.InputStream in) throws Exception {
        return new java.io.ObjectInputStream(in).readObject();
    }
}
