package io.l4mesh.node.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The label check of {@link Exposition} finds a series whose labels differ from its metric's declaration. */
class ExpositionTest {
    @Test
    void aSeriesWithTheDeclaredLabelsPasses() {
        assertEquals(List.of(), Exposition.labelProblems("""
            # HELP l4mesh_connections_total TCP connections accepted
            l4mesh_connections_total{listener="t",node="n1"} 3.0
            l4mesh_backend_connect_time_seconds_bucket{backend="b",le="0.001",node="n1",pool="p"} 1.0
            l4mesh_mesh_members{node="n1"} 3.0
            """));
    }

    @Test
    void anExtraMissingOrUnknownLabelIsFound() {
        List<String> problems = Exposition.labelProblems("""
            l4mesh_connections_total{client="198.18.0.1",listener="t",node="n1"} 3.0
            l4mesh_backend_up{node="n1",pool="p"} 1.0
            l4mesh_no_such_metric{node="n1"} 1.0
            """);
        assertEquals(3, problems.size(), problems.toString());
    }
}
