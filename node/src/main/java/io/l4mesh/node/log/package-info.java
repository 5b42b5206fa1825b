/** Structured logging: logfmt lines on stderr through java.util.logging, quiet by default. */
package io.l4mesh.node.log;
