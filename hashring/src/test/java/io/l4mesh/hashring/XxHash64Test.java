package io.l4mesh.hashring;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class XxHash64Test {
    /** Reference vectors of the xxHash project (XXH64, seed 0 unless given). */
    @ParameterizedTest(name = "XXH64(\"{0}\", {1})")
    @CsvSource({
        "'', 0, ef46db3751d8e999",
        "a, 0, d24ec4f1a98c6e5b",
        "abc, 0, 44bc2cf5ad770999",
        "Nobody inspects the spammish repetition, 0, fbcea83c8a378bf1",
    })
    void matchesReferenceVectors(String input, long seed, String expectedHex) {
        assertEquals(Long.parseUnsignedLong(expectedHex, 16), XxHash64.hash(input, seed));
    }
}
