/**
 * The {@code l4mesh} command line (picocli): {@code run}, {@code status}, {@code backend}, {@code reload},
 * {@code lookup}, {@code check}, {@code demo}, {@code probe} and {@code bench}. Exit codes: 0 success, 1 a
 * failure at run time (API unreachable, request refused), 2 bad usage or an invalid config.
 */
package io.l4mesh.node.cli;
