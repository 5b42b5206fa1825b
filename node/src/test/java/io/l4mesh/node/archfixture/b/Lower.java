package io.l4mesh.node.archfixture.b;

import io.l4mesh.node.archfixture.a.Upper;

/** The other half of the deliberate cycle (see {@link Upper}). */
public final class Lower {
    public Upper upper() {
        return null;
    }
}
