/**
 * Traffic that checks itself: long-lived TCP connections exchanging numbered, checksummed lines, short connections
 * at a steady rate and UDP request/response flows, each recording what happened to it on one clock
 * ({@link io.l4mesh.chaos.traffic.RunClock}). Bounded in count and rate.
 */
package io.l4mesh.chaos.traffic;
