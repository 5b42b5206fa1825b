/** What a chaos run produced, and its {@code report.json} and self-contained {@code report.html}. */
package io.l4mesh.chaos.report;
