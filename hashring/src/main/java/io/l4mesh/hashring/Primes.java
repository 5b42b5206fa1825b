package io.l4mesh.hashring;

/** Primality for table sizes. */
public final class Primes {
    private Primes() {
    }

    /** True when {@code n} is prime; trial division, at most ~23k steps for any int. */
    public static boolean isPrime(int n) {
        if (n < 2) {
            return false;
        }
        if (n % 2 == 0) {
            return n == 2;
        }
        for (int d = 3; (long) d * d <= n; d += 2) {
            if (n % d == 0) {
                return false;
            }
        }
        return true;
    }
}
