package io.l4mesh.node.config;

import java.util.regex.Pattern;

/**
 * The one rule for the names a config gives (node ids, listeners, pools): a letter or digit, then letters, digits,
 * {@code _ . -}, at most 64 characters. The config loader and the mesh ledger's decoder check names with it.
 */
public final class Names {
    public static final Pattern PATTERN = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");

    private Names() {
    }

    public static boolean valid(String name) {
        return name != null && PATTERN.matcher(name).matches();
    }
}
