package io.l4mesh.hashring.bench;

import io.l4mesh.hashring.Backend;
import io.l4mesh.hashring.FlowHash;
import io.l4mesh.hashring.HashAlgorithm;
import io.l4mesh.hashring.MaglevTable;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Maglev table build time (the paper reports 1.8 ms for M = 65537) and lookup cost per flow (flow hash plus
 * table read). Run with {@code ./l4mesh bench maglev}.
 */
@State(Scope.Benchmark)
@Fork(value = 1, jvmArgsAppend = "-Xmx2g")
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class MaglevBenchmark {
    @Param({"10", "100", "1000"})
    public int backends;

    private List<Backend> list;
    private MaglevTable table;
    private long seed;
    private int srcPort;

    @Setup
    public void setup() {
        list = new ArrayList<>();
        for (int i = 0; i < backends; i++) {
            list.add(new Backend("10.1." + (i / 250) + "." + (i % 250 + 1) + ":443", 1));
        }
        table = MaglevTable.build(list);
        seed = HashAlgorithm.MAGLEV_V1.flowSeed();
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public MaglevTable build() {
        return MaglevTable.build(list, MaglevTable.DEFAULT_SIZE, HashAlgorithm.MAGLEV_V1);
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public int lookupIpv4Flow() {
        int port = (srcPort = (srcPort + 1) & 0xFFFF);
        return table.lookup(FlowHash.ipv4(seed, 0xC6120001 + port, port, 0xC6120101, 443, FlowHash.PROTO_TCP));
    }
}
