package io.l4mesh.node.packet;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The Internet checksum against one computed here 16 bits at a time, over every length and start that matters. */
class ChecksumsTest {
    @Test
    void theSumFoldsToTheSameChecksumAsOneTakenSixteenBitsAtATime() {
        Random random = new Random(42);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = arena.allocate(70_000);
            byte[] bytes = new byte[70_000];
            for (int round = 0; round < 3; round++) {
                if (round == 1) {
                    java.util.Arrays.fill(bytes, (byte) 0xFF);   // the carries' worst case
                } else {
                    random.nextBytes(bytes);
                }
                MemorySegment.copy(bytes, 0, p, ValueLayout.JAVA_BYTE, 0, bytes.length);
                for (int length : new int[] {0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 20, 40, 1479, 1480, 65_535}) {
                    for (int offset = 0; offset < 9; offset++) {
                        assertEquals(reference(bytes, offset, length), Checksums.internet(p, offset, length),
                            "length " + length + " from " + offset + ", round " + round);
                    }
                }
            }
        }
    }

    private static int reference(byte[] p, int off, int len) {
        long s = 0;
        for (int i = 0; i < len; i += 2) {
            int hi = p[off + i] & 0xFF;
            int lo = i + 1 < len ? p[off + i + 1] & 0xFF : 0;
            s += hi << 8 | lo;
        }
        while ((s >>> 16) != 0) {
            s = (s & 0xFFFF) + (s >>> 16);
        }
        return (int) (~s & 0xFFFF);
    }
}
