/**
 * Maglev consistent hashing (Eisenbud et al., NSDI'16, section 3.4) with weights, and seeded flow hashing.
 *
 * <p>Depends on nothing but the JDK. Every output is a pure function of its inputs and of a versioned
 * {@link io.l4mesh.hashring.HashAlgorithm}: the same backend list gives the same table on every JVM, machine
 * and restart, which is what lets every balancer node send a flow to the same backend.
 *
 * <p>Threading: {@link io.l4mesh.hashring.MaglevTable} is immutable once built and safe to share; build it
 * off the data path and publish it by reference.
 */
package io.l4mesh.hashring;
